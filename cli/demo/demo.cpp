#include "demo/demo.h"

#include <pwd.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <functional>
#include <optional>
#include <thread>

#include "broker/broker_config.h"
#include "certs/pki.h"
#include "demo/board_events.h"
#include "demo/fleet_demo.h"
#include "demo/wire_tap.h"
#include "demo/work_dir.h"
#include "mqota/host/child_process.h"
#include "mqota/host/command_error.h"
#include "mqota/ports/posix/loopback.h"

namespace mqota::cli::demo {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using nlohmann::json;
using namespace std::chrono_literals;

constexpr char kBoard[] = "MQOTA_VIRTUAL_BOARD";  // board/include/mqota/board/layout.h
constexpr char kDevice[] = "dev-1";
// The wire tap that shows what travels: an observer of its own (it may read
// every topic and publish nothing), not the server's certificate.
constexpr char kTapClientId[] = "mqota-demo-tap";
constexpr char kPrefix[] = "mqota";

volatile std::sig_atomic_t g_interrupted = 0;  // SIGINT or SIGTERM arrived

// A step that did not happen in time, or a helper that died.
struct StoryFailure {
  std::string step, why, log_tail;
};

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

std::string Hz(double hz) {
  char text[32];
  std::snprintf(text, sizeof text, "%.2f Hz", hz);
  return text;
}

class Story {
 public:
  explicit Story(const DemoOptions& options) : o_(options), tty_(isatty(1)) {}

  int Run() {
    try {
      Setup();
      Play();
      Teardown();
      PrintSummary();
      return 0;
    } catch (const StoryFailure& f) {
      if (progress_open_) std::printf("\n");
      std::printf("mqota demo: FAILED at \"%s\": %s\n", f.step.c_str(), f.why.c_str());
      if (!f.log_tail.empty()) std::printf("%s", f.log_tail.c_str());
      Teardown();
      return 1;
    } catch (const host::CommandError& e) {
      std::printf("mqota demo: FAILED during setup: %s\n", e.what());
      Teardown();
      return 1;
    }
  }

 private:
  double Seconds() const { return std::chrono::duration<double>(Clock::now() - t0_).count(); }

  void Say(const std::string& step, const std::string& text) {
    if (progress_open_) {
      std::printf("\n");
      progress_open_ = false;
    }
    std::printf("[%5.1fs] %-10s %s\n", Seconds(), step.c_str(), text.c_str());
    std::fflush(stdout);
  }

  void Milestone(const std::string& name) { milestones_.push_back({name, Seconds()}); }

  // --- setup ---------------------------------------------------------------

  void Setup() {
    for (const char* name :
         {"demo-1.0.0.bin", "demo-1.1.0.bin", "demo-1.2.0.bin", "demo-signing-key.pub.pem"}) {
      if (!fs::exists(o_.firmware / name)) {
        throw host::CommandError(
            1, (o_.firmware / name).string() +
                   " is missing: build the demo firmware first (scripts/build.sh)");
      }
    }
    for (const char* name : {"mqota-server", "mqota-board"}) {
      if (!fs::exists(o_.bin_dir / name)) {
        throw host::CommandError(1,
                                 (o_.bin_dir / name).string() + " is missing (scripts/build.sh)");
      }
    }
    const WorkDir dir = MakeWorkDir(o_.workdir, "mqota-demo");
    work_ = dir.path;
    remove_work_ = dir.remove_at_end;
    port_ = posix::FreeLoopbackPort();
    const std::string mode = o_.plain ? "plain TCP" : "TLS with client certificates";
    std::printf("mqota demo: the reference OTA story on a virtual board (%s), in %s\n",
                mode.c_str(), work_.string().c_str());

    const PkiLayout pki(work_ / "certs");
    if (!o_.plain) {
      CertsOptions certs;
      certs.out = pki.dir();
      certs.devices = {kDevice, kTapClientId};
      MakeCertificates(certs);
    }
    BrokerConfigOptions broker;
    broker.certs = pki.dir();
    broker.out = work_ / "broker";
    broker.port = port_;
    broker.plain = o_.plain;
    broker.devices = std::vector<BrokerDevice>{{kDevice, kBoard}};
    broker.observers = {kTapClientId};
    broker.log = work_ / "broker" / "mosquitto.log";
    const passwd* self = getpwuid(geteuid());
    broker.user = self ? self->pw_name : "root";
    const BrokerConfigFiles files = WriteBrokerConfig(broker);
    mosquitto_.emplace("mosquitto",
                       std::vector<std::string>{"/usr/sbin/mosquitto", "-c", files.config.string()},
                       work_ / "mosquitto.out");
    const auto deadline = Clock::now() + 10s;
    while (!posix::AcceptsOnLoopback(port_)) {
      std::string status;
      if (!mosquitto_->Running(&status) || Clock::now() > deadline) {
        throw StoryFailure{"setup", "mosquitto did not start (" + status + ")",
                           host::Tail(broker.log, 8) + host::Tail(work_ / "mosquitto.out", 8)};
      }
      std::this_thread::sleep_for(20ms);
    }
    Say("broker", "mosquitto on 127.0.0.1:" + std::to_string(port_) + " (" + mode +
                      (o_.plain ? ")" : ", per-device ACLs)"));

    fs::create_directories(work_ / "catalog");
    fs::copy_file(o_.firmware / "demo-1.0.0.bin", work_ / "catalog" / "demo-1.0.0.bin");
    std::vector<std::string> server = {
        (o_.bin_dir / "mqota-server").string(), "--catalog", (work_ / "catalog").string(),
        "--board", kBoard, "--host", "127.0.0.1", "--port", std::to_string(port_), "--verify-key",
        (o_.firmware / "demo-signing-key.pub.pem").string(),
        // The reference's story: a published image goes
        // to every device, no campaign.
        "--offer-newest", "--db", (work_ / "fleet.db").string(), "--api", "off"};
    if (!o_.plain) {
      server.insert(server.end(), {"--tls", "--ca", pki.ca_cert().string(), "--cert",
                                   pki.client_cert(kDefaultServerClientId).string(), "--key",
                                   pki.client_key(kDefaultServerClientId).string()});
    }
    server_.emplace("mqota-server", server, work_ / "server.log");
    Await("setup", 15s, "mqota-server to be ready",
          [&] { return ReadFile(work_ / "server.log").find(" ready: ") != std::string::npos; });
    Say("server", "mqota-server serving a catalog with 1.0.0");

    posix::MqttOptions tap;
    tap.port = port_;
    tap.client_id = kTapClientId;
    if (!o_.plain) {
      tap.tls_enabled = true;
      tap.tls = {pki.ca_cert().string(), pki.client_cert(kTapClientId).string(),
                 pki.client_key(kTapClientId).string(), ""};
    }
    tap_.emplace(tap, kPrefix);

    const fs::path board = work_ / "board";
    std::vector<std::string> create = {(o_.bin_dir / "mqota-board").string(),
                                       "create",
                                       "--dir",
                                       board.string(),
                                       "--boot-key",
                                       (o_.firmware / "demo-signing-key.pub.pem").string(),
                                       "--device-id",
                                       kDevice,
                                       "--broker",
                                       "127.0.0.1:" + std::to_string(port_),
                                       "--check-interval-ms",
                                       std::to_string(o_.check_interval_ms)};
    if (o_.plain) {
      create.push_back("--plain");
    } else {
      create.insert(create.end(),
                    {"--ca", pki.ca_cert().string(), "--cert", pki.client_cert(kDevice).string(),
                     "--key", pki.client_key(kDevice).string()});
    }
    RunToEnd("mqota-board create", create);
    RunToEnd("mqota-board flash", {(o_.bin_dir / "mqota-board").string(), "flash", "--dir",
                                   board.string(), (o_.firmware / "demo-1.0.0.bin").string()});
    Say("board",
        "virtual board " + std::string(kDevice) + " made, 1.0.0 flashed into its primary slot");
    events_.emplace(work_ / "board-events.jsonl");
    board_.emplace("mqota-board",
                   std::vector<std::string>{(o_.bin_dir / "mqota-board").string(), "run", "--dir",
                                            board.string(), "--events",
                                            (work_ / "board-events.jsonl").string(),
                                            "--watchdog-ms", std::to_string(o_.watchdog_ms)},
                   work_ / "board.log");
  }

  void RunToEnd(const std::string& what, const std::vector<std::string>& argv) {
    host::ChildProcess p(what, argv, work_ / "setup.log");
    const auto deadline = Clock::now() + 30s;
    std::string status;
    while (p.Running(&status)) {
      if (Clock::now() > deadline) throw StoryFailure{"setup", what + " did not finish", ""};
      std::this_thread::sleep_for(10ms);
    }
    if (status != "exit 0") {
      throw StoryFailure{"setup", what + " failed (" + status + ")",
                         host::Tail(work_ / "setup.log", 5)};
    }
  }

  // --- the story -----------------------------------------------------------

  void Play() {
    AwaitBoot("power on", "1.0.0", "none", 20s);
    Milestone("1.0.0 booted");
    const double hz_1 = AwaitBlink("1 Hz", "1.0.0", 15s);
    Milestone("1.0.0 blinking");
    led_["1.0.0"] = hz_1;

    Publish("1.1.0", "");
    AwaitBoot("update 1.1.0", "1.1.0", "test", 60s);
    Milestone("1.1.0 downloaded, verified, swapped, booted");
    Await("confirm 1.1.0", 30s, "1.1.0 to confirm itself", [&] { return Uart("confirmed"); });
    const double hz_2 = AwaitBlink("10 Hz", "1.1.0", 10s);
    led_["1.1.0"] = hz_2;
    Await("report 1.1.0", 15s, "the confirmation of 1.1.0 on the wire",
          [&] { return Seen("Boot Report", "1.1.0", "confirmed"); });
    Say("report", "the device told the server: 1.1.0 confirmed");
    Milestone("1.1.0 confirmed, at 10 Hz");

    Publish("1.2.0", " (TEST_REVERT: it hangs before confirming itself)");
    AwaitBoot("update 1.2.0", "1.2.0", "test", 60s);
    Milestone("1.2.0 downloaded, verified, swapped, booted");
    Await("watchdog", std::chrono::milliseconds(o_.watchdog_ms) + 10s, "the watchdog to fire",
          [&] { return watchdog_fired_; });
    Milestone("1.2.0 hung, watchdog reset");
    AwaitBoot("revert", "1.1.0", "revert", 20s);
    Milestone("reverted to 1.1.0");
    const double hz_3 = AwaitBlink("10 Hz again", "1.1.0", 10s);
    led_["1.1.0 after the revert"] = hz_3;
    Await("report revert", 20s, "the revert report on the wire",
          [&] { return Seen("Boot Report", "1.2.0", "reverted"); });
    Say("report", "the device told the server: 1.2.0 reverted (not confirmed)");
    Milestone("revert reported");

    // The reference downloads 1.2.0 again here, forever. Watch a few checks.
    const size_t from = tap_->Snapshot().size();
    const auto watch = std::chrono::milliseconds(o_.check_interval_ms) * o_.quiet_checks + 500ms;
    Say("blocklist", "watching " + std::to_string(o_.quiet_checks) +
                         " update checks for a second download of 1.2.0...");
    const auto until = Clock::now() + watch;
    while (Clock::now() < until) {
      PollBoard("blocklist");
      std::this_thread::sleep_for(20ms);
    }
    const auto wire = tap_->Snapshot();
    for (size_t i = from; i < wire.size(); ++i) {
      const WireMessage& m = wire[i];
      if (m.json && m.message == "Update Availability") ++checks_after_revert_;
      if (m.json && m.message == "Update Available" && m.version == "1.2.0") ++offers_after_revert_;
      if (!m.json && m.topic.find("/OTAImage/") != std::string::npos) ++chunks_after_revert_;
    }
    if (offers_after_revert_ || chunks_after_revert_) {
      throw StoryFailure{"blocklist",
                         "1.2.0 was offered " + std::to_string(offers_after_revert_) +
                             " times and " + std::to_string(chunks_after_revert_) +
                             " chunks were sent after the revert",
                         ""};
    }
    if (checks_after_revert_ == 0) {
      throw StoryFailure{"blocklist", "the device stopped asking for updates", ""};
    }
    Say("blocklist", std::to_string(checks_after_revert_) +
                         " checks, 1.2.0 neither offered nor downloaded again");
    Milestone("1.2.0 not downloaded again");
  }

  void Publish(const std::string& version, const std::string& note) {
    fs::copy_file(o_.firmware / ("demo-" + version + ".bin"),
                  work_ / "catalog" / ("demo-" + version + ".bin"));
    server_->Signal(SIGHUP);
    Say("publish", version + " added to the catalog" + note);
    Milestone(version + " published");
  }

  void AwaitBoot(const std::string& step, const std::string& version, const std::string& swap,
                 std::chrono::milliseconds timeout) {
    Await(step, timeout, "a boot of " + version + " (swap " + swap + ")", [&] {
      for (; boots_seen_ < boots_.size(); ++boots_seen_) {
        const json& b = boots_[boots_seen_];
        if (b.value("version", "") == version && b.value("swap", "") == swap) {
          ++boots_seen_;
          return true;
        }
      }
      return false;
    });
  }

  double AwaitBlink(const std::string& step, const std::string& version,
                    std::chrono::milliseconds timeout) {
    std::optional<double> hz;
    Await("led " + step, timeout, version + "'s LED to blink for a while", [&] {
      hz = events_->BlinkHz();
      return hz.has_value();
    });
    Say("led", version + " blinks at " + Hz(*hz) + " (measured over " +
                   std::to_string(events_->measured_periods()) + " periods)");
    return *hz;
  }

  bool Uart(const std::string& needle) {
    for (; uart_seen_ < uart_.size(); ++uart_seen_) {
      if (uart_[uart_seen_].find(needle) != std::string::npos) {
        ++uart_seen_;
        return true;
      }
    }
    return false;
  }

  bool Seen(const std::string& message, const std::string& version, const std::string& outcome) {
    for (const WireMessage& m : tap_->Snapshot()) {
      if (m.json && m.message == message && m.version == version && m.outcome == outcome) {
        return true;
      }
    }
    return false;
  }

  void Await(const std::string& step, std::chrono::milliseconds timeout, const std::string& what,
             const std::function<bool()>& done) {
    const auto deadline = Clock::now() + timeout;
    for (;;) {
      PollBoard(step);
      if (done()) return;
      if (Clock::now() > deadline) {
        throw StoryFailure{step,
                           "waited " + std::to_string(timeout.count() / 1000) + " s for " + what,
                           "  board log:\n" + host::Tail(work_ / "board.log", 8) +
                               "  server log:\n" + host::Tail(work_ / "server.log", 6)};
      }
      std::this_thread::sleep_for(10ms);
    }
  }

  // Narrates what the board did since the last poll and checks that every
  // helper is still alive.
  void PollBoard(const std::string& step) {
    if (g_interrupted) throw StoryFailure{step, "interrupted", ""};
    for (host::ChildProcess* p : {&*mosquitto_, &*server_, board_ ? &*board_ : nullptr}) {
      std::string status;
      if (p && !p->Running(&status)) {
        throw StoryFailure{step, p->name() + " stopped (" + status + ")", host::Tail(p->log(), 10)};
      }
    }
    if (!events_) return;
    for (const json& e : events_->Poll()) {
      const std::string kind = e.value("event", "");
      if (kind == "boot") {
        boots_.push_back(e);
        std::string text = "booting " + e.value("version", "?");
        const std::string swap = e.value("swap", "none");
        if (swap != "none") {
          text += " after a " + swap + " swap";
          if (e.contains("previous")) text += " (" + e.value("previous", "") + " moved out)";
        }
        if (!e.value("confirmed", true)) text += ", on trial";
        Say(swap == "revert" ? "revert" : swap == "none" ? "boot" : "swap", text);
      } else if (kind == "watchdog") {
        watchdog_fired_ = true;
        Say("watchdog", "no kick for " + std::to_string(o_.watchdog_ms) + " ms: board reset");
      } else if (kind == "reset-request") {
        Say("reset", "the application asked for a reset");
      } else if (kind == "halt") {
        throw StoryFailure{step, "the board halted: " + e.value("reason", ""), ""};
      } else if (kind == "uart") {
        const std::string line = e.value("line", "");
        uart_.push_back(line);
        Narrate(line);
      }
    }
  }

  void Narrate(const std::string& line) {
    if (line.rfind("ota: downloading ", 0) == 0) {
      const size_t colon = line.find(": ", 17);
      const int percent = std::atoi(line.c_str() + colon + 2);
      const std::string bar = std::string(percent / 5, '#') + std::string(20 - percent / 5, '.');
      const std::string text =
          "[" + bar + "] " + std::to_string(percent) + "% " + line.substr(17, colon - 17);
      if (tty_) {
        std::printf("\r[%5.1fs] %-10s %s", Seconds(), "download", text.c_str());
        std::fflush(stdout);
        progress_open_ = true;
      } else if (percent == 0 || percent == 100) {
        Say("download", text);
      }
      return;
    }
    if (line.find("came as a patch") != std::string::npos) {
      patches_.push_back(line.substr(5));
      Say("patch", line.substr(5));
    } else if (line.find("verified and pending") != std::string::npos) {
      Say("verify", line.substr(5) + " (SHA-256 + ECDSA P-256, version newer)");
    } else if (line.rfind("TEST_REVERT", 0) == 0) {
      Say("hang", line);
    } else if (line.find("reverted") != std::string::npos) {
      Say("report", line.substr(5));
    } else if (line.find(" confirmed") != std::string::npos) {
      Say("confirm", line.substr(5));
    }
  }

  // --- the end -------------------------------------------------------------

  void Teardown() {
    if (board_) board_->Stop();
    tap_.reset();
    if (server_) server_->Stop();
    if (mosquitto_) mosquitto_->Stop();
    if (port_ && posix::AcceptsOnLoopback(port_)) {
      std::printf("mqota demo: warning: something still listens on port %d\n", port_);
    }
    if (remove_work_) {
      std::error_code ignored;
      fs::remove_all(work_, ignored);
    }
  }

  void PrintSummary() {
    std::printf("\n%-46s %8s %8s\n", "step", "at (s)", "took (s)");
    double previous = 0;
    for (const auto& [name, at] : milestones_) {
      std::printf("%-46s %8.1f %8.1f\n", name.c_str(), at, at - previous);
      previous = at;
    }
    std::printf("\nLED, measured from the board's timestamps:\n");
    for (const auto& [version, hz] : led_)
      std::printf("  %-24s %s\n", version.c_str(), Hz(hz).c_str());
    std::printf("\nThe whole story took %.1f s; every process stopped, nothing listening.\n",
                previous);
    if (!remove_work_) {
      json summary = {{"milestones", json::array()},
                      {"led_hz", led_},
                      {"checks_after_revert", checks_after_revert_},
                      {"offers_after_revert", offers_after_revert_},
                      {"chunks_after_revert", chunks_after_revert_},
                      {"patches", patches_},
                      {"story_seconds", previous}};
      for (const auto& [name, at] : milestones_)
        summary["milestones"].push_back({{"step", name}, {"at", at}});
      std::ofstream(work_ / "summary.json") << summary.dump(2) << "\n";
    }
  }

  const DemoOptions& o_;
  const bool tty_;
  Clock::time_point t0_ = Clock::now();
  fs::path work_;
  bool remove_work_ = false;
  int port_ = 0;
  std::optional<host::ChildProcess> mosquitto_, server_, board_;
  std::optional<WireTap> tap_;
  std::optional<BoardEvents> events_;
  std::vector<json> boots_;
  size_t boots_seen_ = 0;
  std::vector<std::string> uart_;
  size_t uart_seen_ = 0;
  bool watchdog_fired_ = false;
  bool progress_open_ = false;
  std::vector<std::pair<std::string, double>> milestones_;
  std::vector<std::string> patches_;  // the board's "came as a patch" lines
  std::map<std::string, double> led_;
  int checks_after_revert_ = 0, offers_after_revert_ = 0, chunks_after_revert_ = 0;
};

}  // namespace

int RunDemo(const DemoOptions& options) {
  // Ctrl-C (or SIGTERM) ends the story at the next poll, through the same
  // clean-up as a failure: helpers stopped, the temporary directory removed.
  // (Were the demo killed outright, its helpers would still die with it:
  // PR_SET_PDEATHSIG.)
  struct sigaction action {};
  action.sa_handler = [](int) { g_interrupted = 1; };
  sigemptyset(&action.sa_mask);
  struct sigaction old_int {
  }, old_term{};
  sigaction(SIGINT, &action, &old_int);
  sigaction(SIGTERM, &action, &old_term);
  const int code = Story(options).Run();
  sigaction(SIGINT, &old_int, nullptr);
  sigaction(SIGTERM, &old_term, nullptr);
  return code;
}

void AddDemoCommand(CLI::App& app) {
  auto options = std::make_shared<DemoOptions>();
  auto* cmd = app.add_subcommand(
      "demo",
      "Play the reference example's story: a virtual board on 1.0.0 (1 Hz) updates to 1.1.0 "
      "(10 Hz), then to a 1.2.0 that hangs; the watchdog resets it, the bootloader reverts to "
      "1.1.0, the revert is reported and 1.2.0 is not downloaded again. Starts its own "
      "mosquitto on a free loopback port; exit 0 when every step happened");
  auto fleet = std::make_shared<FleetDemoOptions>();
  auto play_fleet = std::make_shared<bool>(false);
  auto* fleet_flag = cmd->add_flag(
      "--fleet", *play_fleet,
      "Play the fleet's story instead: simulated devices (--devices), a release rolled "
      "out in waves, then a bad one that halts itself on its canary");
  cmd->add_option("--devices", fleet->devices, "Simulated devices of the fleet story (--fleet)")
      ->capture_default_str()
      ->check(CLI::Range(2, 1000))
      ->needs(fleet_flag);
  cmd->add_flag("--plain", options->plain, "Plain TCP instead of TLS with client certificates");
  cmd->add_option("--workdir", options->workdir,
                  "Keep everything (certificates, logs, flash files, summary.json) in this new "
                  "directory (default: a temporary one, removed at the end)");
  cmd->add_option("--firmware", options->firmware,
                  "Directory of the signed demo images and their key (default: the build's "
                  "firmware directory beside bin/, or an installed tree's share/mqota/firmware)");
  cmd->add_option("--watchdog-ms", options->watchdog_ms, "The board's watchdog timeout")
      ->capture_default_str()
      ->check(CLI::Range(500, 60000));
  cmd->add_option("--check-interval-ms", options->check_interval_ms,
                  "How often the device asks for an update")
      ->capture_default_str()
      ->check(CLI::Range(200, 60000));
  cmd->callback([options, fleet, play_fleet] {
    std::error_code ec;
    const fs::path self = fs::read_symlink("/proc/self/exe", ec);
    options->bin_dir = self.parent_path();
    if (*play_fleet) {
      fleet->plain = options->plain;
      fleet->workdir = options->workdir;
      fleet->bin_dir = options->bin_dir;
      const int code = RunFleetDemo(*fleet);
      if (code != 0) throw host::CommandError(code, "the demo did not complete");
      return;
    }
    if (options->firmware.empty()) {
      // A build tree keeps it beside bin/; an installed tree (cmake --install,
      // the Debian package) in <prefix>/share/mqota/firmware.
      const fs::path built = options->bin_dir.parent_path() / "firmware";
      const fs::path installed = options->bin_dir.parent_path() / "share" / "mqota" / "firmware";
      options->firmware = fs::exists(built) || !fs::exists(installed) ? built : installed;
    }
    const int code = RunDemo(*options);
    if (code != 0) throw host::CommandError(code, "the demo did not complete");
  });
}

}  // namespace mqota::cli::demo
