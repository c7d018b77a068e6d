#include "mqota/server/work_queue.h"

namespace mqota::server {

bool WorkQueue::PushMessage(IncomingMessage message) {
  {
    std::lock_guard lock(mutex_);
    if (closed_ || messages_ >= message_capacity_) return false;
    items_.emplace_back(std::move(message));
    ++messages_;
  }
  ready_.notify_one();
  return true;
}

void WorkQueue::PushPump(StreamId id) {
  {
    std::lock_guard lock(mutex_);
    if (closed_) return;
    items_.emplace_back(id);
  }
  ready_.notify_one();
}

std::optional<WorkItem> WorkQueue::Pop() {
  std::unique_lock lock(mutex_);
  ready_.wait(lock, [&] { return closed_ || !items_.empty(); });
  if (closed_) return std::nullopt;
  WorkItem item = std::move(items_.front());
  items_.pop_front();
  if (std::holds_alternative<IncomingMessage>(item)) --messages_;
  return item;
}

void WorkQueue::Close() {
  {
    std::lock_guard lock(mutex_);
    closed_ = true;
    items_.clear();
    messages_ = 0;
  }
  ready_.notify_all();
}

}  // namespace mqota::server
