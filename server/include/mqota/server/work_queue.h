// The worker pool's queue: incoming request messages (bounded: when devices
// send faster than the workers answer, the newest are dropped and logged,
// never buffered without limit) and stream pumps (at most one per active
// stream, so bounded by StreamLimits::max_active). One FIFO for both keeps
// requests and streams fair to each other. Thread-safe; pushing never blocks,
// so the MQTT network thread can push.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace mqota::server {

struct IncomingMessage {
  std::string topic;
  std::vector<uint8_t> payload;
  // Wall clock (ms since the Unix epoch) when it arrived, 0 if unknown: what
  // it records is stamped with it, so that one device's messages keep the
  // order they arrived in even when two instances (or two workers) handle
  // them after waits of different lengths.
  int64_t received_ms = 0;
};

using StreamId = uint64_t;
using WorkItem = std::variant<IncomingMessage, StreamId>;

class WorkQueue {
 public:
  explicit WorkQueue(size_t message_capacity) : message_capacity_(message_capacity) {}

  // False when full or closed (the message is dropped).
  bool PushMessage(IncomingMessage message);
  void PushPump(StreamId id);
  // Blocks for the next item; nullopt once closed.
  std::optional<WorkItem> Pop();
  // Wakes every Pop and drops what is queued; later pushes are ignored.
  void Close();

 private:
  const size_t message_capacity_;
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<WorkItem> items_;
  size_t messages_ = 0;
  bool closed_ = false;
};

}  // namespace mqota::server
