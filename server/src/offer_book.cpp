#include "mqota/server/offer_book.h"

namespace mqota::server {

OfferBook::OfferBook(size_t capacity, Clock::duration ttl)
    : capacity_(capacity == 0 ? 1 : capacity), ttl_(ttl) {}

void OfferBook::StopAwaitingLocked(Offer& offer) {
  if (!offer.awaiting) return;
  awaiting_.erase(*offer.awaiting);
  offer.awaiting.reset();
}

void OfferBook::EraseLocked(std::unordered_map<std::string, Offer>::iterator it) {
  StopAwaitingLocked(it->second);
  order_.erase(it->second.age);
  offers_.erase(it);
}

void OfferBook::Remember(std::string_view topic, EntryPtr entry, Clock::time_point now,
                         bool awaits_follow_up) {
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
  Offer offer{std::move(entry), now, std::prev(order_.end()), std::nullopt};
  if (awaits_follow_up) {
    awaiting_.push_back(key);
    offer.awaiting = std::prev(awaiting_.end());
  }
  offers_.emplace(key, std::move(offer));
}

void OfferBook::Forget(std::string_view topic) {
  std::lock_guard lock(mutex_);
  if (auto it = offers_.find(std::string(topic)); it != offers_.end()) EraseLocked(it);
}

EntryPtr OfferBook::Find(std::string_view topic, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  const auto it = offers_.find(std::string(topic));
  if (it == offers_.end()) return nullptr;
  // Even past its TTL: the device asked, so the answer did reach it.
  StopAwaitingLocked(it->second);
  if (now - it->second.when >= ttl_) return nullptr;
  return it->second.entry;
}

std::vector<OfferBook::Unfollowed> OfferBook::TakeUnfollowed(Clock::duration quiet,
                                                             Clock::time_point now) {
  std::lock_guard lock(mutex_);
  std::vector<Unfollowed> taken;
  // awaiting_ is in the order of Remember calls, whose `now`s workers took a
  // moment earlier, so an offer may sit behind a slightly younger one: it is
  // then reported a tick later, never lost.
  while (!awaiting_.empty()) {
    Offer& offer = offers_.find(awaiting_.front())->second;
    if (now - offer.when < quiet) break;
    taken.push_back({awaiting_.front(), offer.entry, now - offer.when});
    StopAwaitingLocked(offer);
  }
  return taken;
}

size_t OfferBook::size() const {
  std::lock_guard lock(mutex_);
  return offers_.size();
}

}  // namespace mqota::server
