#include "postgres_pool.h"

#include <utility>

namespace mqota::fleet::postgres {

ConnectionPool::ConnectionPool(std::string url, Connection first, size_t size)
    : url_(std::move(url)), size_(size < 1 ? 1 : size) {
  idle_.push_back(std::make_unique<Connection>(std::move(first)));
  opened_ = 1;
}

ConnectionPool::Lease::~Lease() {
  if (connection_) pool_->GiveBack(std::move(connection_));
}

ConnectionPool::Lease ConnectionPool::Acquire() {
  std::unique_lock lock(mutex_);
  for (;;) {
    if (!idle_.empty()) {
      std::unique_ptr<Connection> connection = std::move(idle_.back());
      idle_.pop_back();
      return {*this, std::move(connection)};
    }
    if (opened_ < size_ && !opening_) break;
    returned_.wait(lock);
  }
  // Connect without holding the lock: a connect can take up to libpq's
  // connect_timeout, and connections given back meanwhile serve others.
  opening_ = true;
  lock.unlock();
  std::unique_ptr<Connection> connection;
  try {
    connection = std::make_unique<Connection>(Connection::Open(url_));
  } catch (const DatabaseError&) {
    lock.lock();
    opening_ = false;
    returned_.notify_all();
    // The server refuses more connections (max_connections) or cannot be
    // reached now: with connections open, wait for one of them; else say why.
    if (opened_ == 0) throw;
    returned_.wait(lock, [this] { return !idle_.empty(); });
    std::unique_ptr<Connection> idle = std::move(idle_.back());
    idle_.pop_back();
    return {*this, std::move(idle)};
  }
  lock.lock();
  opening_ = false;
  ++opened_;
  returned_.notify_all();
  return {*this, std::move(connection)};
}

void ConnectionPool::GiveBack(std::unique_ptr<Connection> connection) {
  {
    const std::lock_guard lock(mutex_);
    idle_.push_back(std::move(connection));
  }
  returned_.notify_one();
}

}  // namespace mqota::fleet::postgres
