#include "instance_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <utility>

#include "mqota/fleet/registry.h"

namespace mqota::fleet {
namespace {

// The pid the holder wrote, or "unknown" (it may not have written it yet).
std::string HolderPid(int fd) {
  std::array<char, 32> text{};
  const ssize_t got = pread(fd, text.data(), text.size() - 1, 0);
  std::string pid;
  for (ssize_t i = 0; i < got && text[i] >= '0' && text[i] <= '9'; ++i) pid += text[i];
  return pid.empty() ? "unknown" : pid;
}

}  // namespace

std::filesystem::path InstanceLock::PathFor(const std::filesystem::path& db) {
  // Beside the file itself: a second server given a symbolic link to the
  // database, or another relative path, finds the same lock.
  std::error_code ec;
  std::filesystem::path lock = std::filesystem::weakly_canonical(db, ec);
  if (ec) lock = db;
  lock += "-lock";
  return lock;
}

InstanceLock InstanceLock::Acquire(const std::filesystem::path& db) {
  const std::filesystem::path path = PathFor(db);
  // O_CLOEXEC: a child the server starts must not inherit, and so keep, the
  // lock after the server is gone.
  // NOLINTNEXTLINE(cppcoreguidelines-pro-type-vararg): open(2) is variadic
  const int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    throw RegistryError(db.string() + ": cannot open its lock file " + path.string() + ": " +
                        std::strerror(errno));
  }
  InstanceLock lock(fd);
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) {
      throw RegistryError(db.string() + " is in use by another mqota-server (pid " + HolderPid(fd) +
                          ")");
    }
    throw RegistryError(db.string() + ": cannot lock " + path.string() + ": " +
                        std::strerror(errno));
  }
  // Only a message depends on the pid: a failure to write it is no reason
  // to refuse to start.
  const std::string pid = std::to_string(getpid()) + "\n";
  if (ftruncate(fd, 0) == 0) {
    [[maybe_unused]] const ssize_t written = pwrite(fd, pid.data(), pid.size(), 0);
  }
  return lock;
}

InstanceLock::InstanceLock(InstanceLock&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}

InstanceLock::~InstanceLock() {
  if (fd_ >= 0) close(fd_);  // releases the flock
}

}  // namespace mqota::fleet
