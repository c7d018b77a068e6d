#include "mqota/server/event_writer.h"

#include <algorithm>
#include <chrono>
#include <exception>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "mqota/server/request_handler.h"

namespace mqota::server {
namespace {

// Events per transaction at most: a write after a long outage is cut into
// transactions that each hold the lock for a bounded time.
constexpr size_t kMaxBatch = 1024;

std::string Describe(const fleet::DeviceEvent& event) {
  return Printable(event.device, 64) + "'s \"" + std::string(fleet::EventKindName(event.kind)) +
         "\"";
}

}  // namespace

EventWriter::EventWriter(fleet::Registry& registry, Logger& log, size_t max_waiting,
                         CampaignMoved campaign_moved, Metrics* metrics)
    : registry_(registry),
      log_(log),
      max_waiting_(std::max<size_t>(1, max_waiting)),
      campaign_moved_(std::move(campaign_moved)),
      metrics_(metrics) {}

void EventWriter::Record(const fleet::DeviceEvent& event, fleet::TimeMs now, Then then) {
  std::unique_lock lock(mutex_);
  if (queue_.size() >= max_waiting_) {
    queue_.pop_front();
    ++done_;
    ++dropped_;
    // At the 1st, 2nd, 4th, 8th... drop: a long outage is said, not flooded.
    if ((dropped_ & (dropped_ - 1)) == 0) {
      log_.Error("registry: " + std::to_string(max_waiting_) +
                 " events waiting; dropped the oldest (" + std::to_string(dropped_) +
                 " dropped so far)");
    }
  }
  queue_.push_back(event);
  const uint64_t mine = ++queued_;
  if (held_ || then == Then::kQueue) return;  // held: the tick retries, not every request
  if (!writing_) {
    WriteQueue(lock, now);
    return;
  }
  if (then != Then::kWait) return;
  // The writer writes until the queue is empty, so it will write this one
  // too, unless a write fails first.
  const uint64_t failures = failures_;
  written_.wait(lock, [&] { return done_ >= mine || failures_ != failures; });
}

void EventWriter::Flush(fleet::TimeMs now) {
  std::unique_lock lock(mutex_);
  if (writing_ || held_ || queue_.empty()) return;
  WriteQueue(lock, now);
}

void EventWriter::Retry(fleet::TimeMs now) {
  std::unique_lock lock(mutex_);
  if (writing_) return;
  held_ = false;
  WriteQueue(lock, now);
}

size_t EventWriter::waiting() const {
  std::lock_guard lock(mutex_);
  return queue_.size();
}

void EventWriter::WriteQueue(std::unique_lock<std::mutex>& lock, fleet::TimeMs now) {
  writing_ = true;
  while (!queue_.empty()) {
    const size_t n = std::min(queue_.size(), kMaxBatch);
    const std::vector<fleet::DeviceEvent> batch(queue_.begin(),
                                                queue_.begin() + static_cast<std::ptrdiff_t>(n));
    const uint64_t dropped_before = dropped_;
    lock.unlock();
    std::vector<fleet::RecordOutcome> outcomes;
    std::string failure;
    const auto started = std::chrono::steady_clock::now();
    try {
      outcomes = registry_.RecordAll(batch);
    } catch (const std::exception& e) {  // RegistryError, or memory: nothing written either way
      failure = e.what();
    }
    if (metrics_) {
      metrics_->ObserveRegistryWrite(std::chrono::steady_clock::now() - started, n,
                                     !failure.empty());
    }
    lock.lock();
    if (!failure.empty()) {
      held_ = true;
      ++failures_;
      if (!outage_) {
        outage_ = true;
        dropped_at_outage_ = dropped_;
        log_.Error("registry: recording " + Describe(batch.front()) +
                   (n > 1 ? " and " + std::to_string(n - 1) + " more" : std::string()) +
                   " (kept, retried): " + failure);
      }
      break;
    }
    // Events dropped while this write ran came off the front, out of this
    // batch (and were counted then): the rest of it is still there.
    const size_t left = n - std::min<uint64_t>(n, dropped_ - dropped_before);
    queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(left));
    done_ += left;
    written_.notify_all();
    std::set<int64_t> moved;
    for (const auto& o : outcomes) {
      if (o.recorded && o.recorded->campaign_changed) moved.insert(*o.recorded->campaign_changed);
    }
    lock.unlock();
    LogRefusals(batch, outcomes);
    for (const int64_t campaign : moved) {
      // Nothing may leave here with writing_ set: every later event would
      // only queue. A campaign not evaluated now is at the next tick.
      try {
        campaign_moved_(campaign, now);
      } catch (const std::exception& e) {
        log_.Error("registry: campaign " + std::to_string(campaign) +
                   " not evaluated after a write (the next tick does): " + e.what());
      }
    }
    lock.lock();
  }
  if (queue_.empty() && outage_) {
    outage_ = false;
    const uint64_t lost = dropped_ - dropped_at_outage_;
    if (lost == 0) {
      log_.Info("registry: working again; no event was lost");
    } else {
      log_.Error("registry: working again; " + std::to_string(lost) +
                 " events were dropped while it failed");
    }
  }
  writing_ = false;
  written_.notify_all();
}

void EventWriter::LogRefusals(const std::vector<fleet::DeviceEvent>& batch,
                              const std::vector<fleet::RecordOutcome>& outcomes) {
  for (size_t i = 0; i < batch.size() && i < outcomes.size(); ++i) {
    // Not the disk: the event itself does not fit (e.g. a device the
    // registry never saw). Writing it again cannot help.
    if (!outcomes[i].recorded) {
      log_.Warn("registry: " + Describe(batch[i]) + " not recorded: " + outcomes[i].refusal);
    }
  }
}

}  // namespace mqota::server
