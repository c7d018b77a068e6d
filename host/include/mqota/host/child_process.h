// The demo's helpers (mosquitto, mqota-server, mqota-board) as child
// processes: output to a log file, stopped with SIGTERM (then SIGKILL), and
// killed by the kernel if the demo itself dies (PR_SET_PDEATHSIG), so a demo
// never leaves anything running or listening behind.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

namespace mqota::host {

class ChildProcess {
 public:
  // Starts argv[0] (a path) with stdout and stderr appended to `log`.
  // Throws CommandError when it cannot be started.
  ChildProcess(std::string name, const std::vector<std::string>& argv,
               const std::filesystem::path& log);
  ~ChildProcess();  // Stop()
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  const std::string& name() const { return name_; }
  pid_t pid() const { return pid_; }
  // False once it has exited; `status` then says how ("exit 1", "signal 9").
  bool Running(std::string* status = nullptr);
  void Signal(int signal_number) const;
  // SIGKILL to its whole process group (it leads one), so that it and every
  // process it started stop at the same instant: a power cut for the board.
  void PowerCut();
  // SIGTERM, up to `grace` to exit, then SIGKILL. Returns the exit code (or
  // 128 + signal). Idempotent.
  int Stop(std::chrono::milliseconds grace = std::chrono::milliseconds(3000));
  const std::filesystem::path& log() const { return log_; }

 private:
  std::string name_;
  std::filesystem::path log_;
  pid_t pid_ = -1;
  bool reaped_ = false;
  int wait_status_ = 0;
};

// Lines of a log file from its end, for a failure message.
std::string Tail(const std::filesystem::path& path, size_t lines);

}  // namespace mqota::host
