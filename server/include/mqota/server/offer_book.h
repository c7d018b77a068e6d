// What each device was offered: UniqueTopicName -> catalog entry. A device
// asks "Update Availability", gets a job for version X, and later (on another
// connection) says "Request Update" on the same topic; it must then receive X,
// even if the catalog or other devices' answers differ (R12: publisher.py
// keeps one process-wide version instead).
//
// Bounded: a device makes a new topic every session, so entries expire after
// `ttl` and the oldest go first when `capacity` is reached. Thread-safe.
#pragma once

#include <chrono>
#include <list>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "mqota/server/catalog.h"

namespace mqota::server {

class OfferBook {
 public:
  using Clock = std::chrono::steady_clock;

  OfferBook(size_t capacity, Clock::duration ttl);

  void Remember(std::string_view topic, EntryPtr entry, Clock::time_point now);
  void Forget(std::string_view topic);
  // nullptr when nothing (still) stands for this topic.
  EntryPtr Find(std::string_view topic, Clock::time_point now) const;
  size_t size() const;

 private:
  struct Offer {
    EntryPtr entry;
    Clock::time_point when;
    std::list<std::string>::iterator age;  // position in order_
  };
  void EraseLocked(std::unordered_map<std::string, Offer>::iterator it);

  const size_t capacity_;
  const Clock::duration ttl_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Offer> offers_;
  std::list<std::string> order_;  // oldest first
};

}  // namespace mqota::server
