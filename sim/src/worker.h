// One of the fleet's K threads: it serves a fixed set of devices, waiting on
// one epoll set for their sockets and on one timer heap for the moment each
// next needs it (an agent deadline, a reset, a reconnection). A device is
// served by its worker only, so nothing in it needs a lock.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <limits>
#include <queue>
#include <thread>
#include <utility>
#include <vector>

namespace mqota::sim {

inline constexpr uint64_t kNever = std::numeric_limits<uint64_t>::max();

// Milliseconds on the steady clock: the time every device and agent runs on.
uint64_t NowMs();

// What a worker drives.
class Serviced {
 public:
  // Runs on the worker's thread. `io_events`: the epoll events of the
  // member's socket, 0 when its time has come. Returns when it next wants to
  // run without I/O (kNever: only on I/O).
  virtual uint64_t Service(uint32_t io_events, uint64_t now_ms) = 0;

 protected:
  ~Serviced() = default;
};

class Worker {
 public:
  Worker();
  ~Worker();  // Stop()
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Members register their sockets here with the tag Add returned as
  // epoll_event.data.u64.
  int epoll_fd() const { return epoll_fd_; }
  // Before Start(): adds a member, first run at `first_run_ms`.
  uint64_t Add(Serviced& member, uint64_t first_run_ms);

  void Start();
  void Stop();  // joins; idempotent

 private:
  void Run();
  void Schedule(uint64_t member, uint64_t at_ms);

  int epoll_fd_ = -1;
  int stop_fd_ = -1;
  std::vector<Serviced*> members_;
  std::vector<uint64_t> wake_ms_;  // what the heap holds for each member (kNever: nothing)
  std::priority_queue<std::pair<uint64_t, uint64_t>, std::vector<std::pair<uint64_t, uint64_t>>,
                      std::greater<>>
      timers_;  // (when, member); stale entries are skipped
  std::thread thread_;
};

}  // namespace mqota::sim
