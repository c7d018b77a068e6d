#include "demo/fleet_demo.h"

#include <pwd.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <thread>

#include "broker/broker_config.h"
#include "certs/pki.h"
#include "demo/work_dir.h"
#include "fleet/api_client.h"
#include "fleet/tables.h"
#include "mqota/host/child_process.h"
#include "mqota/host/command_error.h"
#include "mqota/host/files.h"
#include "mqota/host/keys.h"
#include "mqota/host/signer.h"
#include "mqota/ports/posix/loopback.h"
#include "mqota/sim/fleet_sim.h"

namespace mqota::cli::demo {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr char kBoard[] = "MQOTA_VIRTUAL_BOARD";

struct Failure {
  std::string step, why;
};

// A campaign's waves as the demo last told them.
struct Told {
  size_t open = 0;
  std::map<size_t, int64_t> confirmed;  // wave -> confirmed devices said
  std::string status = "running";
};

class FleetStory {
 public:
  explicit FleetStory(const FleetDemoOptions& o) : o_(o) {}

  int Run() {
    try {
      Setup();
      Play();
      Summary();
      Teardown();
      return 0;
    } catch (const Failure& f) {
      std::printf("mqota demo --fleet: FAILED at \"%s\": %s\n  server log:\n%s", f.step.c_str(),
                  f.why.c_str(), host::Tail(work_ / "server.log", 12).c_str());
      Teardown();
      return 1;
    } catch (const host::CommandError& e) {
      std::printf("mqota demo --fleet: FAILED: %s\n", e.what());
      Teardown();
      return 1;
    }
  }

 private:
  double Seconds() const { return std::chrono::duration<double>(Clock::now() - t0_).count(); }
  void Say(const std::string& step, const std::string& text) {
    std::printf("[%5.1fs] %-10s %s\n", Seconds(), step.c_str(), text.c_str());
    std::fflush(stdout);
  }
  void Await(const std::string& step, std::chrono::milliseconds timeout, const std::string& what,
             const std::function<bool()>& done) {
    const auto deadline = Clock::now() + timeout;
    while (!done()) {
      if (Clock::now() > deadline) {
        throw Failure{step, "waited " + std::to_string(timeout.count() / 1000) + " s for " + what};
      }
      std::this_thread::sleep_for(100ms);
    }
  }

  std::vector<uint8_t> Image(image::ImageVersion v) const {
    host::SignOptions s;
    s.header_size = 0x400;
    s.pad_header = true;
    s.version = v;
    s.align = 8;
    s.slot_size = 0x40000;
    std::vector<uint8_t> payload(size_t{64} * 1024);
    for (size_t i = 0; i < payload.size(); ++i) {
      payload[i] = static_cast<uint8_t>(i * 31 + size_t{v.minor} * 7 + v.revision);
    }
    return host::BuildSignedImage(payload, s, &*key_);
  }

  void Setup() {
    if (o_.devices < 2 || o_.devices > 1000) {
      throw host::UsageError("--devices must be from 2 to 1000");
    }
    if (!fs::exists(o_.bin_dir / "mqota-server")) {
      throw host::CommandError(
          1, (o_.bin_dir / "mqota-server").string() + " is missing (scripts/build.sh)");
    }
    const WorkDir dir = MakeWorkDir(o_.workdir, "mqota-demo-fleet");
    work_ = dir.path;
    remove_work_ = dir.remove_at_end;
    t0_ = Clock::now();
    const std::string mode = o_.plain ? "plain TCP" : "TLS, a certificate per device";
    std::printf("mqota demo --fleet: %d simulated devices, staged rollouts (%s), in %s\n",
                o_.devices, mode.c_str(), work_.string().c_str());

    key_.emplace(host::Key::Generate(host::KeyType::kEcdsaP256));
    host::WriteFileAtomically((work_ / "signing.pub.pem").string(), key_->PublicKeyPem(), 0644);
    fs::create_directories(work_ / "catalog");
    for (const image::ImageVersion& v : {image::ImageVersion{1, 1, 0, 0}, {1, 2, 0, 0}}) {
      host::WriteFileAtomically(
          (work_ / "catalog" / ("app-" + sim::VersionText(v) + ".bin")).string(), Image(v), 0644);
    }
    std::vector<std::string> ids;
    ids.reserve(static_cast<size_t>(o_.devices));
    for (int i = 0; i < o_.devices; ++i) ids.push_back(sim::DeviceId("sim-", i));

    const PkiLayout pki(work_ / "certs");
    if (!o_.plain) {
      CertsOptions certs;
      certs.out = pki.dir();
      certs.devices = ids;
      MakeCertificates(certs);
    }
    port_ = posix::FreeLoopbackPort();
    BrokerConfigOptions broker;
    broker.certs = pki.dir();
    broker.out = work_ / "broker";
    broker.port = port_;
    broker.plain = o_.plain;
    broker.devices.emplace();
    for (const auto& id : ids) broker.devices->push_back({id, kBoard});
    broker.log = work_ / "broker" / "mosquitto.log";
    const passwd* self = getpwuid(geteuid());
    broker.user = self ? self->pw_name : "root";
    const BrokerConfigFiles files = WriteBrokerConfig(broker);
    mosquitto_.emplace("mosquitto",
                       std::vector<std::string>{"/usr/sbin/mosquitto", "-c", files.config.string()},
                       work_ / "mosquitto.out");
    Await("broker", 10s, "mosquitto to listen", [&] { return posix::AcceptsOnLoopback(port_); });
    Say("broker", "mosquitto on 127.0.0.1:" + std::to_string(port_) +
                      (o_.plain ? " (plain TCP)" : " (TLS, per-device ACLs)"));

    api_port_ = posix::FreeLoopbackPort();
    std::vector<std::string> server = {(o_.bin_dir / "mqota-server").string(),
                                       "--db",
                                       (work_ / "fleet.db").string(),
                                       "--api",
                                       "127.0.0.1:" + std::to_string(api_port_),
                                       "--catalog",
                                       (work_ / "catalog").string(),
                                       "--board",
                                       kBoard,
                                       "--verify-key",
                                       (work_ / "signing.pub.pem").string(),
                                       "--port",
                                       std::to_string(port_)};
    if (!o_.plain) {
      server.insert(server.end(), {"--tls", "--ca", pki.ca_cert().string(), "--cert",
                                   pki.client_cert(kDefaultServerClientId).string(), "--key",
                                   pki.client_key(kDefaultServerClientId).string()});
    }
    server_.emplace("mqota-server", server, work_ / "server.log");
    Await("server", 15s, "mqota-server to be ready", [&] {
      std::string status;
      if (!server_->Running(&status))
        throw Failure{"server", "mqota-server exited (" + status + ")"};
      return host::Tail(work_ / "server.log", 40).find(" api: http") != std::string::npos;
    });
    api_.emplace(fleet::ApiEndpoint{"http://127.0.0.1:" + std::to_string(api_port_),
                                    fleet::LoadToken((work_ / "fleet.db.token").string())});
    Say("server", "mqota-server: registry fleet.db, API on 127.0.0.1:" + std::to_string(api_port_) +
                      ", catalog 1.1.0 and 1.2.0");
    // The demo's token dies with its work folder, so the address carries it
    // (in the fragment, which the browser keeps to itself): one click to watch.
    Say("dashboard",
        "watch it at http://127.0.0.1:" + std::to_string(api_port_) +
            "/ui/login#token=" + fleet::LoadToken((work_ / "fleet.db.token").string()) +
            "  (Prometheus: /metrics, same token)");

    sim::FleetOptions f;
    f.devices = static_cast<size_t>(o_.devices);
    f.board = kBoard;
    f.initial_image = Image({1, 0, 0, 0});
    f.trusted_keys_der = {key_->PublicKeyDer()};
    f.trusted_key_types = {image::SignatureType::kEcdsaP256};
    f.broker_port = port_;
    f.tls = !o_.plain;
    f.certs_dir = pki.dir().string();
    f.check_interval_ms = 30000;  // nudges, not polling, start the updates
    f.watchdog_ms = 2000;
    f.faults.hang_versions = {{1, 2, 0, 0}};  // 1.2.0 never confirms itself
    events_.set_callback([this](const sim::SimEvent& e) {
      if (e.name == "reverted") {
        std::lock_guard lock(mutex_);
        reverted_.push_back(e);
      }
    });
    fleet_.emplace(f, events_);
    fleet_->Start();
    Say("fleet", std::to_string(o_.devices) +
                     " simulated devices at 1.0.0, each the agent and the bootloader on its "
                     "own flash");
    Await("fleet", 30s, "every device to be registered", [&] {
      return api_->Get("/api/v1/devices")["devices"].size() == static_cast<size_t>(o_.devices);
    });
    Say("fleet", std::to_string(o_.devices) + " devices registered, verified on their own topics");
  }

  int64_t Create(const std::string& version) {
    const json c =
        api_->Post("/api/v1/campaigns", {{"name", "release " + version},
                                         {"image", {{"board", kBoard}, {"version", version}}},
                                         {"waves", "2%,10%,50%"},
                                         {"failure_percent", 0}});
    std::string sizes;
    for (const json& w : c["waves"]) sizes += (sizes.empty() ? "" : ", ") + w["devices"].dump();
    Say("campaign", "#" + c["id"].dump() + " " + version + ": waves of " + sizes +
                        " devices (2 %, 10 %, 50 %, everyone); halt on any failure");
    return c["id"].get<int64_t>();
  }

  // Tells what changed since the last look; the campaign's JSON.
  json Narrate(int64_t id, Told& told) {
    json c = api_->Get("/api/v1/campaigns/" + std::to_string(id));
    const json& waves = c["waves"];
    for (size_t i = 0; i < waves.size(); ++i) {
      const int64_t devices = waves[i]["devices"];
      const int64_t confirmed = waves[i]["confirmed"];
      if (waves[i]["open"] && i >= told.open) {
        told.open = i + 1;
        if (i > 0)
          Say("wave " + std::to_string(i + 1), "opened: " + std::to_string(devices) + " devices");
      }
      if (confirmed == devices && told.confirmed[i] != confirmed) {
        told.confirmed[i] = confirmed;
        Say("wave " + std::to_string(i + 1),
            std::to_string(confirmed) + "/" + std::to_string(devices) + " confirmed after boot");
      }
    }
    if (c["status"] != told.status) {
      told.status = c["status"];
      const std::string reason = c.value("status_reason", "");
      Say("campaign", "#" + std::to_string(id) + " " +
                          (told.status == "halted" ? "HALTED" : told.status) +
                          (reason.empty() ? "" : ": " + reason));
    }
    return c;
  }

  void Play() {
    const int64_t good = Create("1.1.0");
    Told told_good;
    Await("campaign 1.1.0", 60s, "every wave to be confirmed",
          [&] { return Narrate(good, told_good)["status"] == "completed"; });

    const int64_t bad = Create("1.2.0");
    Say("note", "1.2.0 hangs before it can confirm itself: the watchdog will reset it");
    Told told_bad;
    Await("campaign 1.2.0", 45s, "the campaign to halt",
          [&] { return Narrate(bad, told_bad)["status"] == "halted"; });
    {
      std::lock_guard lock(mutex_);
      for (const auto& e : reverted_) {
        Say("canary", e.device + " reverted " + e.version +
                          ": the watchdog reset it and its bootloader went back");
      }
    }
    std::this_thread::sleep_for(2s);  // anything still on its way arrives
    size_t got_bad = 0, on_good = 0;
    for (const auto& s : fleet_->statuses()) {
      for (const auto& v : s.failed_versions) got_bad += sim::VersionText(v) == "1.2.0";
      on_good += sim::VersionText(s.running) == "1.1.0";
    }
    if (got_bad != 1) {
      throw Failure{"check",
                    std::to_string(got_bad) + " devices got 1.2.0; only the canary should"};
    }
    Say("check", "two seconds on: 1.2.0 reached the canary only; " + std::to_string(on_good) +
                     " of " + std::to_string(o_.devices) + " devices run 1.1.0");
  }

  void Summary() {
    std::map<std::string, size_t> versions;
    const json devices = api_->Get("/api/v1/devices");  // outlives the loop
    for (const json& d : devices["devices"]) ++versions[d["version"]];
    std::vector<std::vector<std::string>> rows;
    rows.reserve(versions.size());
    for (const auto& [v, n] : versions) rows.push_back({v, std::to_string(n)});
    std::printf("\n%s\n%s", fleet::Table({"RUNNING", "DEVICES"}, rows).c_str(),
                fleet::CampaignsTable(api_->Get("/api/v1/campaigns")).c_str());
    std::printf(
        "\nmqota demo --fleet: done in %.1f s (mqota fleet campaign show 2 tells the halt)\n",
        Seconds());
  }

  void Teardown() {
    if (fleet_) fleet_->Stop();
    fleet_.reset();
    if (server_) server_->Stop();
    if (mosquitto_) mosquitto_->Stop();
    server_.reset();
    mosquitto_.reset();
    if (remove_work_) {
      std::error_code ec;
      fs::remove_all(work_, ec);
    }
  }

  FleetDemoOptions o_;
  fs::path work_;
  bool remove_work_ = false;
  Clock::time_point t0_ = Clock::now();
  std::optional<host::Key> key_;
  int port_ = 0;
  int api_port_ = 0;
  std::optional<host::ChildProcess> mosquitto_;
  std::optional<host::ChildProcess> server_;
  std::optional<fleet::ApiClient> api_;
  sim::EventLog events_;
  std::mutex mutex_;
  std::vector<sim::SimEvent> reverted_;
  std::optional<sim::FleetSim> fleet_;
};

}  // namespace

int RunFleetDemo(const FleetDemoOptions& options) { return FleetStory(options).Run(); }

}  // namespace mqota::cli::demo
