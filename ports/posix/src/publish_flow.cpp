#include "publish_flow.h"

namespace mqota::posix {

bool PublishFlow::WaitForRoom(size_t bytes, std::chrono::milliseconds timeout) {
  if (max_ == 0) return true;
  std::unique_lock lock(mutex_);
  return room_.wait_for(lock, timeout,
                        [&] { return unacked_bytes_ == 0 || unacked_bytes_ + bytes <= max_; });
}

void PublishFlow::Sent(int mid, size_t bytes) {
  std::lock_guard lock(mutex_);
  if (early_.erase(mid) != 0) return;
  unacked_[mid] += bytes;
  unacked_bytes_ += bytes;
}

void PublishFlow::Acknowledged(int mid) {
  {
    std::lock_guard lock(mutex_);
    const auto it = unacked_.find(mid);
    if (it == unacked_.end()) {
      early_.insert(mid);
      return;
    }
    unacked_bytes_ -= it->second;
    unacked_.erase(it);
  }
  room_.notify_all();
}

size_t PublishFlow::unacked_bytes() const {
  std::lock_guard lock(mutex_);
  return unacked_bytes_;
}

}  // namespace mqota::posix
