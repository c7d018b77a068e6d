// What each device was offered: UniqueTopicName -> catalog entry. A device
// asks "Update Availability", gets a job for version X, and later (on another
// connection) says "Request Update" on the same topic; it must then receive X,
// even if the catalog or other devices' answers differ (R12: publisher.py
// keeps one process-wide version instead).
//
// It also tells when a device never asked again after a job: the one sign
// the server gets that its answer did not reach the device (a broker drops
// what a device may not read without telling anyone).
//
// Bounded: a device makes a new topic every session, so entries expire after
// `ttl` and the oldest go first when `capacity` is reached. Thread-safe.
#pragma once

#include <chrono>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "mqota/server/catalog.h"

namespace mqota::server {

class OfferBook {
 public:
  using Clock = std::chrono::steady_clock;

  // An offer whose device asked nothing more on its topic (TakeUnfollowed).
  struct Unfollowed {
    std::string topic;
    EntryPtr entry;
    Clock::duration age;  // since the offer was remembered
  };

  OfferBook(size_t capacity, Clock::duration ttl);

  // Remembers what `topic` was offered (replacing an earlier offer).
  // `awaits_follow_up`: the offer was a job document answering "Update
  // Availability", so the device should ask again on `topic`; an offer made
  // while serving such a later request is not awaiting anything.
  void Remember(std::string_view topic, EntryPtr entry, Clock::time_point now,
                bool awaits_follow_up = false);
  void Forget(std::string_view topic);
  // nullptr when nothing (still) stands for this topic. A lookup means the
  // device asked again on its topic, so the offer no longer awaits that.
  EntryPtr Find(std::string_view topic, Clock::time_point now);
  // The offers that have awaited a follow-up for `quiet` or longer, oldest
  // first; each is returned once, then awaits nothing. Forgotten, replaced
  // and evicted offers are not returned.
  std::vector<Unfollowed> TakeUnfollowed(Clock::duration quiet, Clock::time_point now);
  size_t size() const;

 private:
  struct Offer {
    EntryPtr entry;
    Clock::time_point when;
    std::list<std::string>::iterator age;  // position in order_
    // Position in awaiting_ while the device has not asked again.
    std::optional<std::list<std::string>::iterator> awaiting;
  };
  void EraseLocked(std::unordered_map<std::string, Offer>::iterator it);
  void StopAwaitingLocked(Offer& offer);

  const size_t capacity_;
  const Clock::duration ttl_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Offer> offers_;
  std::list<std::string> order_;  // oldest first
  // The offers awaiting a follow-up, oldest first: TakeUnfollowed looks only
  // at the front, never through 100 000 offers every housekeeping tick.
  std::list<std::string> awaiting_;
};

}  // namespace mqota::server
