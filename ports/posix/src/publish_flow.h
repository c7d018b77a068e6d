// Flow control for one MQTT client's publishes: the bytes handed to
// libmosquitto that the broker has not acknowledged yet (PUBACK for QoS 1,
// written for QoS 0), and a bound on them.
//
// libmosquitto queues whatever it is given, without limit: a server that
// answers faster than the broker takes its answers would grow by the
// difference (4 KiB a chunk) for as long as it lasts. With a bound, a
// publisher waits for room instead, and the backlog stays upstream in
// requests of a few hundred bytes that a bounded queue can refuse.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <unordered_map>
#include <unordered_set>

namespace mqota::posix {

class PublishFlow {
 public:
  // 0: no bound.
  explicit PublishFlow(size_t max_unacked_bytes) : max_(max_unacked_bytes) {}

  // Waits until `bytes` more fit (or nothing is unacknowledged: one message
  // larger than the bound still goes), at most `timeout`. False on timeout.
  bool WaitForRoom(size_t bytes, std::chrono::milliseconds timeout);
  // Message `mid` of `bytes` was handed to libmosquitto.
  void Sent(int mid, size_t bytes);
  // libmosquitto's on_publish for `mid` (on its loop thread).
  void Acknowledged(int mid);
  size_t unacked_bytes() const;

 private:
  const size_t max_;
  mutable std::mutex mutex_;
  std::condition_variable room_;
  std::unordered_map<int, size_t> unacked_;  // mid -> bytes
  // Acknowledgements that came before Sent() recorded their message.
  std::unordered_set<int> early_;
  size_t unacked_bytes_ = 0;
};

}  // namespace mqota::posix
