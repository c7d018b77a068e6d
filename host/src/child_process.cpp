#include "mqota/host/child_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <deque>
#include <fstream>
#include <thread>

#include "mqota/host/command_error.h"

namespace mqota::host {
namespace {

std::string DescribeStatus(int status) {
  if (WIFEXITED(status)) return "exit " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return std::string("signal ") + strsignal(WTERMSIG(status));
  return "stopped";
}

}  // namespace

ChildProcess::ChildProcess(std::string name, const std::vector<std::string>& argv,
                           const std::filesystem::path& log)
    : name_(std::move(name)), log_(log) {
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const int out = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (out < 0) throw CommandError(1, "cannot write " + log.string() + ": " + std::strerror(errno));
  const pid_t parent = getpid();
  pid_ = fork();
  if (pid_ < 0) {
    close(out);
    throw CommandError(1, "cannot start " + name_ + ": fork failed");
  }
  if (pid_ == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    setpgid(0, 0);  // its own group: PowerCut() reaches its children too
    // Signals the demo blocks for itself must not stay blocked in children.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    const int null = open("/dev/null", O_RDONLY);
    dup2(null, 0);
    dup2(out, 1);
    dup2(out, 2);
    execv(args[0], args.data());
    static constexpr char kMessage[] = "exec failed\n";
    (void)!write(2, kMessage, sizeof kMessage - 1);
    _exit(127);
  }
  setpgid(pid_, pid_);  // also here: whichever runs first, the group exists after fork
  close(out);
}

ChildProcess::~ChildProcess() { Stop(); }

bool ChildProcess::Running(std::string* status) {
  if (!reaped_ && waitpid(pid_, &wait_status_, WNOHANG) == pid_) reaped_ = true;
  if (reaped_ && status) *status = DescribeStatus(wait_status_);
  return !reaped_;
}

void ChildProcess::Signal(int signal_number) const {
  if (!reaped_) kill(pid_, signal_number);
}

void ChildProcess::PowerCut() {
  if (reaped_ || pid_ <= 0) return;
  kill(-pid_, SIGKILL);
  waitpid(pid_, &wait_status_, 0);
  reaped_ = true;
}

int ChildProcess::Stop(std::chrono::milliseconds grace) {
  if (!reaped_ && pid_ > 0) {
    kill(pid_, SIGTERM);
    const auto deadline = std::chrono::steady_clock::now() + grace;
    while (Running() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (!reaped_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, &wait_status_, 0);
      reaped_ = true;
    }
  }
  if (WIFEXITED(wait_status_)) return WEXITSTATUS(wait_status_);
  return 128 + (WIFSIGNALED(wait_status_) ? WTERMSIG(wait_status_) : 0);
}

std::string Tail(const std::filesystem::path& path, size_t lines) {
  std::ifstream in(path);
  std::deque<std::string> last;
  for (std::string line; std::getline(in, line);) {
    last.push_back(line);
    if (last.size() > lines) last.pop_front();
  }
  std::string out;
  for (const auto& l : last) out += "    " + l + "\n";
  return out;
}

}  // namespace mqota::host
