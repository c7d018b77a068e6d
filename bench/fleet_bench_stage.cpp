#include "fleet_bench_stage.h"

#include <httplib.h>
#include <pwd.h>
#include <sqlite3.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "mqota/host/files.h"
#include "mqota/host/signer.h"
#include "mqota/testing/process.h"
#include "mqota/testing/random_bytes.h"

namespace mqota::bench {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;
namespace mt = mqota::testing;
using Clock = std::chrono::steady_clock;

}  // namespace

bool WaitFor(const std::function<bool()>& done, std::chrono::milliseconds timeout,
             std::chrono::milliseconds step) {
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(step);
  }
  return done();
}

std::string ReadText(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string BrokerConfigText(const BrokerLimits& limits) {
  return "max_inflight_messages " + std::to_string(limits.max_inflight) + "\nmax_queued_messages " +
         std::to_string(limits.max_queued) +
         "\nmax_packet_size 131072\nset_tcp_nodelay true\npersistence false\n"
         "log_type error\nlog_type warning\nlog_type notice\n";
}

std::optional<ProcessStats> ReadProcessStats(pid_t pid) {
  const std::string base = "/proc/" + std::to_string(pid);
  ProcessStats stats;
  std::istringstream status(ReadText(base + "/status"));
  std::string line;
  bool found = false;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) {
      stats.peak_rss_bytes = std::stoull(line.substr(6)) * 1024;  // "VmHWM:  1234 kB"
      found = true;
    }
  }
  // /proc/<pid>/stat: "pid (comm) state ..." with utime and stime the 14th
  // and 15th fields; comm may hold spaces, so count from the last ')'.
  const std::string stat = ReadText(base + "/stat");
  const size_t close = stat.rfind(')');
  if (!found || close == std::string::npos) return std::nullopt;
  std::istringstream fields(stat.substr(close + 2));
  std::string field;
  uint64_t utime = 0, stime = 0;
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  stats.cpu_seconds =
      static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
  return stats;
}

int64_t WallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::optional<int64_t> ParseIsoMs(const std::string& text) {
  tm t{};
  int ms = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ", &t.tm_year, &t.tm_mon, &t.tm_mday,
                  &t.tm_hour, &t.tm_min, &t.tm_sec, &ms) != 7) {
    return std::nullopt;
  }
  t.tm_year -= 1900;
  t.tm_mon -= 1;
  return static_cast<int64_t>(timegm(&t)) * 1000 + ms;
}

Stage::Stage(const StageOptions& options, const host::Key& key) : options_(options), key_(key) {
  // The images: 1.0.0 (every device at the start) and the catalog's.
  host::SignOptions sign;
  sign.header_size = 0x400;
  sign.pad_header = true;
  sign.align = 8;
  sign.slot_size = options.image_payload + 0x10000;
  std::filesystem::create_directories(dir_ / "catalog");
  std::vector<image::ImageVersion> versions = {{1, 0, 0, 0}};
  versions.insert(versions.end(), options.catalog.begin(), options.catalog.end());
  for (const auto& v : versions) {
    sign.version = v;
    images_.emplace_back(
        v, host::BuildSignedImage(mt::PseudoRandomBytes(options.image_payload, v.minor * 16 + 1),
                                  sign, &key));
    if (v.minor > 0 || v.major > 1) {
      mt::WriteFileBytes(dir_ / "catalog" / ("app-" + sim::VersionText(v) + ".bin"),
                         images_.back().second);
    }
  }
  host::WriteFileAtomically((dir_ / "key.pem").string(), key.PublicKeyPem(), 0644);

  // The broker, as `mqota broker-config --plain` would set its limits.
  const int port = mt::FreeLoopbackPort();
  std::filesystem::create_directories(dir_ / "broker");
  const passwd* self = getpwuid(geteuid());
  {
    std::ofstream conf(dir_ / "broker" / "mosquitto.conf");
    conf << "user " << (self ? self->pw_name : "root") << "\n"
         << "per_listener_settings false\n"
         << "log_dest file " << (dir_ / "broker" / "mosquitto.log").string() << "\n"
         << BrokerConfigText(options.broker) << "allow_anonymous true\n"
         << "listener " << port << " 127.0.0.1\n";
  }
  broker_ = mt::MosquittoBroker::FromConfigFile(dir_ / "broker" / "mosquitto.conf", port,
                                                dir_ / "broker" / "mosquitto.log");

  api_port_ = mt::FreeLoopbackPort();
  std::vector<std::string> argv = {mt::BinPath("mqota-server"),
                                   "--db",
                                   (dir_ / "fleet.db").string(),
                                   "--port",
                                   std::to_string(port),
                                   "--board",
                                   kFleetBoard,
                                   "--catalog",
                                   (dir_ / "catalog").string(),
                                   "--verify-key",
                                   (dir_ / "key.pem").string(),
                                   "--api",
                                   "127.0.0.1:" + std::to_string(api_port_),
                                   "--client-id",
                                   "mqota-server"};
  if (options.server_queue > 0) {
    argv.insert(argv.end(), {"--queue", std::to_string(options.server_queue)});
  }
  server_.emplace("mqota-server", argv, dir_ / "server.log");
  if (!WaitFor(
          [&] { return ReadText(dir_ / "server.log").find(" api: http") != std::string::npos; },
          15s)) {
    throw std::runtime_error("mqota-server's API did not come up within 15 s:\n" + ServerLogTail());
  }
  token_ = ReadText(dir_ / "fleet.db.token");
  while (!token_.empty() && (token_.back() == '\n' || token_.back() == '\r')) token_.pop_back();
}

Stage::~Stage() {
  if (fleet_) fleet_->Stop();
  if (server_) server_->Stop();
}

const std::vector<uint8_t>& Stage::image(const image::ImageVersion& v) const {
  for (const auto& [version, bytes] : images_) {
    if (version == v) return bytes;
  }
  throw std::runtime_error("no image " + sim::VersionText(v));
}

void Stage::StartFleet(std::chrono::milliseconds timeout) {
  sim::FleetOptions o;
  o.devices = options_.devices;
  o.board = kFleetBoard;
  o.initial_image = image({1, 0, 0, 0});
  o.trusted_keys_der = {key_.PublicKeyDer()};
  o.trusted_key_types = {image::SignatureType::kEcdsaP256};
  o.broker_port = broker_->port();
  o.check_interval_ms = options_.check_interval_ms;
  o.watchdog_ms = options_.watchdog_ms;
  o.ramp = std::chrono::milliseconds(options_.devices * 1000 / options_.boots_per_second);
  o.faults.hang_versions = options_.hang;
  log_.set_callback([this](const sim::SimEvent& e) {
    std::lock_guard lock(mutex_);
    events_.push_back(e);
  });
  fleet_.emplace(o, log_);
  fleet_->Start();
  size_t online = 0, listed = 0;
  const std::string query =
      "/api/v1/devices?board=" + std::string(kFleetBoard) + "&version=1.0.0&limit=100000";
  if (!WaitFor(
          [&] {
            online = 0;
            const json devices = Api("GET", query)["devices"];
            listed = devices.size();
            for (const json& d : devices) online += d.value("online", false);
            return online == options_.devices;
          },
          timeout + o.ramp, 250ms)) {
    throw std::runtime_error(
        std::to_string(online) + " of " + std::to_string(options_.devices) +
        " devices online in the registry (" + std::to_string(listed) + " listed at 1.0.0) after " +
        std::to_string((timeout + o.ramp).count() / 1000) + " s:\n" + ServerLogTail());
  }
}

json Stage::Api(const std::string& method, const std::string& path, const json& body) {
  httplib::Client client("127.0.0.1", api_port_);
  client.set_connection_timeout(5, 0);
  client.set_read_timeout(30, 0);
  client.set_bearer_token_auth(token_);
  httplib::Result r =
      method == "GET" ? client.Get(path) : client.Post(path, body.dump(), "application/json");
  if (!r) {
    throw std::runtime_error(method + " " + path + ": " + httplib::to_string(r.error()));
  }
  json answer = json::parse(r->body, nullptr, /*allow_exceptions=*/false);
  if (r->status >= 400) {
    throw std::runtime_error(method + " " + path + ": HTTP " + std::to_string(r->status) + " " +
                             r->body);
  }
  return answer;
}

Stage::Created Stage::CreateCampaign(const json& body) {
  Created c;
  c.sent_ms = WallMs();
  const json answer = Api("POST", "/api/v1/campaigns", body);
  c.returned_ms = WallMs();
  c.id = answer.value("id", int64_t{0});
  return c;
}

std::vector<sim::SimEvent> Stage::Events() const {
  std::lock_guard lock(mutex_);
  return events_;
}

ProcessStats Stage::ServerStats() const {
  if (final_stats_) return *final_stats_;
  return ReadProcessStats(server_->pid()).value_or(ProcessStats{});
}

ProcessStats Stage::StopServer() {
  if (final_stats_) return *final_stats_;
  if (fleet_) fleet_->Stop();
  final_stats_ = ServerStats();
  server_->Stop();
  return *final_stats_;
}

size_t Stage::ServerLogCount(const std::string& needle) const {
  std::istringstream log(ReadText(dir_ / "server.log"));
  size_t count = 0;
  for (std::string line; std::getline(log, line);) count += line.find(needle) != std::string::npos;
  return count;
}

std::string Stage::ServerLogTail() const { return host::Tail(dir_ / "server.log", 30); }

int64_t Stage::RegistryEvents() const {
  sqlite3* db = nullptr;
  int64_t count = -1;
  if (sqlite3_open_v2((dir_ / "fleet.db").c_str(), &db, SQLITE_OPEN_READONLY, nullptr) ==
      SQLITE_OK) {
    sqlite3_stmt* query = nullptr;
    if (sqlite3_prepare_v2(db, "SELECT COUNT(*) FROM events", -1, &query, nullptr) == SQLITE_OK &&
        sqlite3_step(query) == SQLITE_ROW) {
      count = sqlite3_column_int64(query, 0);
    }
    sqlite3_finalize(query);
  }
  sqlite3_close(db);
  return count;
}

}  // namespace mqota::bench
