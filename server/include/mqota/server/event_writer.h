// Device events into the registry with group commit: one transaction, one
// fsync, for everything queued while the last one was being written.
//
// A registry with synchronous=FULL commits a few thousand times a second;
// a fleet's progress reports alone ask for more, and a worker that waits on
// the disk serves no chunks meanwhile. So events queue here, and the caller
// that finds no write under way writes the whole queue (RecordAll), again
// until it is empty; the others go back to their work, or, when their
// answer says "on disk" ("Result Received"), wait for the write that holds
// their event.
//
// A registry that fails (disk full, I/O error) costs no event: the queue
// stays, bounded (beyond `max_waiting` the oldest is dropped, and said so),
// and is written again by Retry (the fleet's tick), in order; the outage is
// logged once, and its end. No thread of its own: every write happens on a
// caller's thread, so a test that records from one thread sees each event
// written before Record returns.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>

#include "mqota/fleet/registry.h"
#include "mqota/server/log.h"
#include "mqota/server/metrics.h"

namespace mqota::server {

class EventWriter {
 public:
  // Called on the writing thread, outside the lock, for each campaign whose
  // tallies a write moved (once per write, not per event).
  using CampaignMoved = std::function<void(int64_t campaign, fleet::TimeMs now)>;

  // `metrics`, when given, observes every write (its time, its events).
  EventWriter(fleet::Registry& registry, Logger& log, size_t max_waiting,
              CampaignMoved campaign_moved, Metrics* metrics = nullptr);

  enum class Then : uint8_t {
    kWait,   // write the queue, or wait for the write under way to take the event;
             // return once it is written, or once a write failed (then it waits
             // in the queue for Retry)
    kWrite,  // write the queue unless a write is under way (which takes it)
    kQueue,  // only take a place in the queue: Flush writes it
  };
  // Queues `event` behind everything queued before it, then as `then` says.
  void Record(const fleet::DeviceEvent& event, fleet::TimeMs now, Then then);
  // Writes the queue unless a write is under way or the registry failed.
  void Flush(fleet::TimeMs now);
  // Writes what waits after a failure (from the fleet's tick).
  void Retry(fleet::TimeMs now);
  size_t waiting() const;

 private:
  // The lock held on entry and exit; released while the registry writes.
  void WriteQueue(std::unique_lock<std::mutex>& lock, fleet::TimeMs now);
  void LogRefusals(const std::vector<fleet::DeviceEvent>& batch,
                   const std::vector<fleet::RecordOutcome>& outcomes);

  fleet::Registry& registry_;
  Logger& log_;
  const size_t max_waiting_;
  const CampaignMoved campaign_moved_;
  Metrics* const metrics_;

  mutable std::mutex mutex_;  // the members below
  std::condition_variable written_;
  std::deque<fleet::DeviceEvent> queue_;
  uint64_t queued_ = 0;    // events ever queued: the last one's number
  uint64_t done_ = 0;      // of those, written, refused or dropped (a prefix)
  uint64_t dropped_ = 0;   // of those, dropped for room
  uint64_t failures_ = 0;  // writes that failed: a durable waiter's cue to give up
  bool writing_ = false;   // a caller is writing the queue
  bool held_ = false;      // the last write failed: only Retry writes
  bool outage_ = false;    // a failure was logged, its end is not yet
  uint64_t dropped_at_outage_ = 0;
};

}  // namespace mqota::server
