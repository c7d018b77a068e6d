#include "app_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <utility>

#include "mqota/board/channel.h"

extern char** environ;

namespace mqota::board {
namespace {

[[noreturn]] void Fail(const std::string& what) {
  throw std::runtime_error(what + ": " + std::strerror(errno));
}

// A close-on-exec duplicate at 10 or above, so the child's dup2 onto 1..5
// never overwrites a descriptor it still has to place.
int HighFd(int fd) {
  const int high = fcntl(fd, F_DUPFD_CLOEXEC, 10);
  if (high < 0) Fail("fcntl");
  return high;
}

class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

}  // namespace

AppProcess::AppProcess(std::span<const uint8_t> program, const std::string& name,
                       const BoardPaths& paths) {
  Fd image(memfd_create(name.c_str(), MFD_CLOEXEC));
  if (image.get() < 0) Fail("memfd_create");
  for (size_t done = 0; done < program.size();) {
    const ssize_t n = write(image.get(), program.data() + done, program.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) Fail("writing the application to memory");
    done += static_cast<size_t>(n);
  }
  int pair[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0) Fail("socketpair");
  Fd board_end(pair[0]), app_end(pair[1]);
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) Fail("pipe");
  Fd console_read(pipe_fds[0]), console_write(pipe_fds[1]);
  Fd internal(open(paths.internal_flash().c_str(), O_RDWR | O_CLOEXEC));
  Fd external(open(paths.external_flash().c_str(), O_RDWR | O_CLOEXEC));
  if (internal.get() < 0 || external.get() < 0) Fail("opening the flash chips");
  Fd null(open("/dev/null", O_RDONLY | O_CLOEXEC));
  const Fd app_channel(HighFd(app_end.get())), console(HighFd(console_write.get())),
      chip_internal(HighFd(internal.get())), chip_external(HighFd(external.get())),
      stdin_null(HighFd(null.get())), program_fd(HighFd(image.get()));

  const std::string fallback = (paths.dir / ".application").string();
  const pid_t board = getpid();
  pid_ = fork();
  if (pid_ < 0) Fail("fork");
  if (pid_ == 0) {
    // Only async-signal-safe calls from here: the board is single-threaded,
    // but keep the child honest anyway.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != board) _exit(127);  // the board died before the line above
    dup2(stdin_null.get(), 0);
    dup2(console.get(), 1);
    dup2(console.get(), 2);
    dup2(app_channel.get(), kChannelFd);
    dup2(chip_internal.get(), kInternalFlashFd);
    dup2(chip_external.get(), kExternalFlashFd);
    char* argv[] = {const_cast<char*>(name.c_str()), nullptr};
    fexecve(program_fd.get(), argv, environ);
    // A kernel that refuses to execute memfds (vm.memfd_noexec = 2): the same
    // bytes through a private file of the board (open, write and execve are
    // async-signal-safe).
    const int copy = open(fallback.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0700);
    if (copy >= 0) {
      size_t done = 0;
      while (done < program.size()) {
        const ssize_t n = write(copy, program.data() + done, program.size() - done);
        if (n <= 0) break;
        done += static_cast<size_t>(n);
      }
      close(copy);
      if (done == program.size()) execve(fallback.c_str(), argv, environ);
    }
    static constexpr char kMessage[] =
        "board: the primary slot does not hold a program for "
        "this machine (fexecve failed)\n";
    (void)!write(2, kMessage, sizeof kMessage - 1);
    _exit(127);
  }
  fcntl(console_read.get(), F_SETFL, O_NONBLOCK);
  channel_ = board_end.release();
  console_ = console_read.release();
}

AppProcess::~AppProcess() {
  Kill();
  if (channel_ >= 0) close(channel_);
  if (console_ >= 0) close(console_);
}

bool AppProcess::Send(const std::string& message) const {
  return send(channel_, message.data(), message.size(), MSG_NOSIGNAL) ==
         static_cast<ssize_t>(message.size());
}

bool AppProcess::Exited(int* status) {
  if (reaped_) return true;
  if (waitpid(pid_, status, WNOHANG) == pid_) {
    reaped_ = true;
    return true;
  }
  return false;
}

void AppProcess::Kill() {
  if (pid_ <= 0 || reaped_) return;
  kill(pid_, SIGKILL);
  while (waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
  }
  reaped_ = true;
}

}  // namespace mqota::board
