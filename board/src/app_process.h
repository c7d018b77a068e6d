// Power-on, second half: the application runs as a child process whose
// program is the payload the bootloader chose, copied from the primary slot
// into an anonymous in-memory file and executed from there (never a file of
// the build folder). It inherits the channel (fd 3), the two flash chips
// (fds 4 and 5) and a pipe as stdout/stderr (the UART); it dies with the
// board (PR_SET_PDEATHSIG), so killing the board is a power cut.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <span>
#include <string>

#include "mqota/board/board_config.h"

namespace mqota::board {

class AppProcess {
 public:
  // Starts the program; throws std::runtime_error with a sentence if the
  // kernel refuses (e.g. the payload is not an executable for this machine:
  // the child then exits 127 and the board sees it as a crash).
  AppProcess(std::span<const uint8_t> program, const std::string& name, const BoardPaths& paths);
  ~AppProcess();  // Kill()
  AppProcess(const AppProcess&) = delete;
  AppProcess& operator=(const AppProcess&) = delete;

  int channel_fd() const { return channel_; }  // the board's end (SOCK_SEQPACKET)
  int console_fd() const { return console_; }  // the UART's read end (non-blocking)
  pid_t pid() const { return pid_; }

  // Sends one datagram to the application.
  bool Send(const std::string& message) const;
  // Non-blocking: true (and the wait status) once the process has ended.
  bool Exited(int* status);
  // SIGKILL and reap: the reset line, or the power going away.
  void Kill();

 private:
  pid_t pid_ = -1;
  int channel_ = -1;
  int console_ = -1;
  bool reaped_ = false;
};

}  // namespace mqota::board
