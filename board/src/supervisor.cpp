#include "mqota/board/supervisor.h"

#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstring>
#include <optional>

#include "app_process.h"
#include "boot_stage.h"
#include "mqota/board/board_config.h"
#include "mqota/board/channel.h"
#include "mqota/board/events.h"
#include "mqota/boot/boot_record.h"

namespace mqota::board {
namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;

const char* SwapName(boot::SwapType type) {
  switch (type) {
    case boot::SwapType::kNone: return "none";
    case boot::SwapType::kTest: return "test";
    case boot::SwapType::kPerm: return "perm";
    case boot::SwapType::kRevert: return "revert";
    default: return "other";
  }
}

std::string DescribeStatus(int status) {
  if (WIFEXITED(status)) return "exit " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return std::string("signal ") + strsignal(WTERMSIG(status));
  return "stopped";
}

// SIGTERM, SIGINT: the power switch. Read through a descriptor, so the
// board's one loop waits for it like for anything else.
class PowerSwitch {
 public:
  PowerSwitch() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigprocmask(SIG_BLOCK, &set, &previous_);
    fd_ = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
  }
  ~PowerSwitch() {
    close(fd_);
    sigprocmask(SIG_SETMASK, &previous_, nullptr);
  }
  int fd() const { return fd_; }

 private:
  int fd_ = -1;
  sigset_t previous_{};
};

enum class Reset { kWatchdog, kRequested, kPowerOff };

class Board {
 public:
  Board(const RunOptions& options, EventLog& log)
      : options_(options), paths_(options.dir), log_(log) {}

  int Run() {
    const BootloaderConfig bootloader = LoadBootloaderConfig(paths_);
    BoardFacts provisioning = LoadProvisioning(paths_);
    if (options_.power_off_after.count() > 0)
      power_off_at_ = Clock::now() + options_.power_off_after;
    log_.Emit("board", "power-on", json::object(),
              "power on (" + paths_.dir.string() + ", bootloader: swap " + Name(bootloader.swap) +
                  ", watchdog " + std::to_string(options_.watchdog.count()) + " ms)");
    std::string reset_cause(kResetPowerOn);
    for (;;) {
      BootStageResult boot = RunBootloader(paths_, bootloader, options_.flash_op);
      if (!boot.ok) {
        log_.Emit("boot", "halt", {{"reason", boot.error}}, "halted: " + boot.error);
        return 3;
      }
      ReportBoot(boot.outcome);
      BoardFacts facts = provisioning;
      facts.trusted_key_der = boot.trusted_key_der;
      facts.update_offset_bytes = boot.update_offset_bytes;
      const auto record = boot::EncodeBootRecord(boot::MakeBootRecord(boot.outcome));
      facts.boot_record.assign(record.begin(), record.end());
      facts.reset_cause = reset_cause;
      const std::string version = VersionText(boot.outcome.layout.header.version);
      const Reset why = RunApplication(boot.payload, version, facts);
      if (why == Reset::kPowerOff) {
        log_.Emit("board", "power-off", json::object(), "power off");
        return 0;
      }
      reset_cause = why == Reset::kWatchdog ? kResetWatchdog : kResetSoftware;
    }
  }

 private:
  void ReportBoot(const boot::BootOutcome& o) {
    const std::string version = VersionText(o.layout.header.version);
    json e = {{"swap", SwapName(o.swap)},
              {"resumed", o.resumed},
              {"version", version},
              {"confirmed", o.confirmed},
              {"rejected", boot::Describe(o.rejected)}};
    std::string human = "booting " + version;
    if (o.swap != boot::SwapType::kNone) {
      human += std::string(" after a ") + SwapName(o.swap) + " swap";
      if (o.previous_version) human += " (was " + VersionText(*o.previous_version) + ")";
    }
    if (o.previous_version) e["previous"] = VersionText(*o.previous_version);
    if (o.resumed) human += ", finished after an interruption";
    if (!o.confirmed) human += ", on trial until confirmed";
    if (o.rejected != boot::RejectReason::kNone) {
      human += std::string("; refused the update: ") + boot::Describe(o.rejected);
      e["rejected_version"] = VersionText(o.rejected_version);
    }
    log_.Emit("boot", "boot", e, human);
  }

  Reset RunApplication(const std::vector<uint8_t>& program, const std::string& version,
                       const BoardFacts& facts) {
    AppProcess app(program, "mqota-app-" + version, paths_);
    log_.Emit("board", "app-start", {{"version", version}, {"bytes", program.size()}},
              "starting the application " + version + " (" + std::to_string(program.size()) +
                  " bytes from the primary slot)");
    app.Send(std::string(kFactsPrefix) + EncodeFacts(facts));
    Clock::time_point watchdog_at = Clock::now() + options_.watchdog;
    bool running = true;
    // A descriptor that hung up is polled no more (it would report POLLHUP
    // at once, forever); until the process is reaped, look every 50 ms.
    bool channel_open = true, console_open = true;
    std::string partial_line;
    std::array<char, kMaxChannelMessageBytes> buffer{};
    for (;;) {
      const Clock::time_point now = Clock::now();
      if (power_off_at_ && now >= *power_off_at_) return Reset::kPowerOff;
      if (now >= watchdog_at) {
        log_.Emit("board", "watchdog", json::object(),
                  "watchdog: no kick for " + std::to_string(options_.watchdog.count()) +
                      " ms, resetting");
        return Reset::kWatchdog;
      }
      Clock::time_point wake = watchdog_at;
      if (power_off_at_) wake = std::min(wake, *power_off_at_);
      if (running && !(channel_open && console_open)) {
        wake = std::min(wake, now + std::chrono::milliseconds(50));
      }
      const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(wake - now) +
                        std::chrono::milliseconds(1);
      std::array<pollfd, 3> fds{{{channel_open ? app.channel_fd() : -1, POLLIN, 0},
                                 {console_open ? app.console_fd() : -1, POLLIN, 0},
                                 {power_.fd(), POLLIN, 0}}};
      if (poll(fds.data(), fds.size(), static_cast<int>(wait.count())) < 0) continue;
      if (fds[2].revents & POLLIN) return Reset::kPowerOff;
      if (fds[1].revents & (POLLIN | POLLHUP)) {
        ReadConsole(app.console_fd(), partial_line);
        if ((fds[1].revents & POLLIN) == 0) console_open = false;
      }
      if (fds[0].revents & POLLIN) {
        const ssize_t n = recv(app.channel_fd(), buffer.data(), buffer.size(), MSG_DONTWAIT);
        if (n > 0) {
          const std::string_view message(buffer.data(), static_cast<size_t>(n));
          if (message == kKick) {
            watchdog_at = Clock::now() + options_.watchdog;
          } else if (message == kLedOn || message == kLedOff) {
            log_.Led(message == kLedOn);
          } else if (message == kReset) {
            log_.Emit("board", "reset-request", json::object(),
                      "the application asked for a reset");
            return Reset::kRequested;
          }
        }
      } else if (fds[0].revents & (POLLHUP | POLLERR)) {
        channel_open = false;
      }
      int status = 0;
      if (running && !(channel_open && console_open) && app.Exited(&status)) {
        if (console_open) ReadConsole(app.console_fd(), partial_line);
        running = channel_open = console_open = false;
        log_.Emit("board", "app-exit", {{"status", DescribeStatus(status)}},
                  "the application stopped (" + DescribeStatus(status) +
                      "); the CPU halts until the watchdog resets it");
      }
    }
  }

  void ReadConsole(int fd, std::string& partial) {
    std::array<char, 4096> chunk{};
    for (;;) {
      const ssize_t n = read(fd, chunk.data(), chunk.size());
      if (n <= 0) break;
      partial.append(chunk.data(), static_cast<size_t>(n));
    }
    size_t start = 0;
    for (size_t nl = partial.find('\n'); nl != std::string::npos;
         start = nl + 1, nl = partial.find('\n', start)) {
      const std::string line = partial.substr(start, nl - start);
      log_.Emit("uart", "uart", {{"line", line}}, line);
    }
    partial.erase(0, start);
  }

  const RunOptions& options_;
  const BoardPaths paths_;
  EventLog& log_;
  PowerSwitch power_;
  std::optional<Clock::time_point> power_off_at_;
};

}  // namespace

int RunBoard(const RunOptions& options) {
  EventLog log(options.events_path, options.quiet);
  return Board(options, log).Run();
}

}  // namespace mqota::board
