#include "worker.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <stdexcept>

namespace mqota::sim {
namespace {

constexpr uint64_t kStopTag = kNever;
constexpr int kMaxWaitMs = 100;  // so a Stop is never missed for long

}  // namespace

uint64_t NowMs() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::steady_clock::now().time_since_epoch())
                                   .count());
}

Worker::Worker() : epoll_fd_(epoll_create1(EPOLL_CLOEXEC)), stop_fd_(eventfd(0, EFD_CLOEXEC)) {
  if (epoll_fd_ < 0 || stop_fd_ < 0) throw std::runtime_error("cannot create an epoll set");
  epoll_event e{EPOLLIN, {.u64 = kStopTag}};
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, stop_fd_, &e);
}

Worker::~Worker() {
  Stop();
  close(stop_fd_);
  close(epoll_fd_);
}

uint64_t Worker::Add(Serviced& member, uint64_t first_run_ms) {
  members_.push_back(&member);
  wake_ms_.push_back(kNever);
  const uint64_t tag = members_.size() - 1;
  Schedule(tag, first_run_ms);
  return tag;
}

void Worker::Start() {
  thread_ = std::thread([this] { Run(); });
}

void Worker::Stop() {
  if (!thread_.joinable()) return;
  const uint64_t one = 1;
  if (write(stop_fd_, &one, sizeof one) < 0) {
    // Cannot fail: the counter is far from overflowing.
  }
  thread_.join();
}

void Worker::Schedule(uint64_t member, uint64_t at_ms) {
  if (at_ms == wake_ms_[member]) return;
  wake_ms_[member] = at_ms;
  if (at_ms != kNever) timers_.emplace(at_ms, member);
}

void Worker::Run() {
  std::vector<epoll_event> events(512);
  std::vector<uint64_t> due;
  for (;;) {
    // Members whose time has come; what they schedule for "now" again runs
    // in the next round, after the sockets have been looked at.
    const uint64_t now = NowMs();
    due.clear();
    while (!timers_.empty() && timers_.top().first <= now) {
      const auto [at, member] = timers_.top();
      timers_.pop();
      if (wake_ms_[member] != at) continue;  // rescheduled since
      wake_ms_[member] = kNever;
      due.push_back(member);
    }
    for (const uint64_t member : due) Schedule(member, members_[member]->Service(0, NowMs()));

    int timeout = kMaxWaitMs;
    if (!timers_.empty()) {
      const uint64_t next = timers_.top().first;
      const uint64_t t = NowMs();
      timeout = next <= t ? 0 : static_cast<int>(std::min<uint64_t>(next - t, kMaxWaitMs));
    }
    const int n = epoll_wait(epoll_fd_, events.data(), static_cast<int>(events.size()), timeout);
    for (int i = 0; i < n; ++i) {
      const uint64_t member = events[i].data.u64;
      if (member == kStopTag) return;
      Schedule(member, members_[member]->Service(events[i].events, NowMs()));
    }
  }
}

}  // namespace mqota::sim
