// One mqota-server per database: an exclusive flock(2) on "<db>-lock" (the
// database's real path, symbolic links resolved), held
// for as long as the lock object lives, with the holder's pid written in the
// file for the message the next one gets. The kernel drops it when the
// process dies, kill -9 included, so no stale lock is ever left to clean up
// (docs/spec/fleet-registry.md#one-writer).
#pragma once

#include <filesystem>
#include <string>

namespace mqota::fleet {

class InstanceLock {
 public:
  // Throws RegistryError "<db> is in use by another mqota-server (pid N)",
  // or a sentence naming the lock file when it cannot be created.
  static InstanceLock Acquire(const std::filesystem::path& db);
  ~InstanceLock();
  InstanceLock(InstanceLock&& other) noexcept;
  InstanceLock& operator=(InstanceLock&&) = delete;
  InstanceLock(const InstanceLock&) = delete;
  InstanceLock& operator=(const InstanceLock&) = delete;

  static std::filesystem::path PathFor(const std::filesystem::path& db);

 private:
  explicit InstanceLock(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace mqota::fleet
