#include "mqota/server/offer_book.h"

namespace mqota::server {

OfferBook::OfferBook(size_t capacity, Clock::duration ttl)
    : capacity_(capacity == 0 ? 1 : capacity), ttl_(ttl) {}

void OfferBook::EraseLocked(std::unordered_map<std::string, Offer>::iterator it) {
  order_.erase(it->second.age);
  offers_.erase(it);
}

void OfferBook::Remember(std::string_view topic, EntryPtr entry, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  const std::string key(topic);
  if (auto it = offers_.find(key); it != offers_.end()) EraseLocked(it);
  // Expired entries first, then the oldest while full.
  while (!order_.empty()) {
    auto oldest = offers_.find(order_.front());
    if (offers_.size() < capacity_ && now - oldest->second.when < ttl_) break;
    EraseLocked(oldest);
  }
  order_.push_back(key);
  offers_.emplace(key, Offer{std::move(entry), now, std::prev(order_.end())});
}

void OfferBook::Forget(std::string_view topic) {
  std::lock_guard lock(mutex_);
  if (auto it = offers_.find(std::string(topic)); it != offers_.end()) EraseLocked(it);
}

EntryPtr OfferBook::Find(std::string_view topic, Clock::time_point now) const {
  std::lock_guard lock(mutex_);
  const auto it = offers_.find(std::string(topic));
  if (it == offers_.end() || now - it->second.when >= ttl_) return nullptr;
  return it->second.entry;
}

size_t OfferBook::size() const {
  std::lock_guard lock(mutex_);
  return offers_.size();
}

}  // namespace mqota::server
