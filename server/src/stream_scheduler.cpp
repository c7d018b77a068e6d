#include "mqota/server/stream_scheduler.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <random>

#include "mqota/server/chunks.h"

namespace mqota::server {
namespace {

std::string RandomNonce() {
  std::random_device device;
  const uint64_t value = (uint64_t{device()} << 32) | device();
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(value));
  return text;
}

template <typename T>
bool ParseNumber(std::string_view text, T& out) {
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size() && !text.empty();
}

}  // namespace

StreamScheduler::StreamScheduler(StreamLimits limits, std::string flow_topic, PublishFn publish,
                                 ReadyFn ready, Logger& log)
    : limits_([&] {
        limits.window = std::max<uint32_t>(limits.window, 2);
        limits.max_active = std::max<size_t>(limits.max_active, 1);
        return limits;
      }()),
      batch_(limits_.window / 2),
      flow_topic_(std::move(flow_topic)),
      nonce_(RandomNonce()),
      publish_(std::move(publish)),
      ready_(std::move(ready)),
      log_(log) {}

std::string StreamScheduler::Marker(uint64_t stream_id, uint32_t count) const {
  return nonce_ + " " + std::to_string(stream_id) + " " + std::to_string(count);
}

bool StreamScheduler::CanSend(const Stream& s) const {
  return !s.paused && s.next < s.total && s.outstanding + batch_ <= limits_.window;
}

void StreamScheduler::ResetStream(Stream& s, EntryPtr entry) {
  s.total = ChunkCount(entry->size_bytes(), kChunkDataBytes);
  s.entry = std::move(entry);
  s.next = 0;
  s.paused = false;
  ++s.generation;
  s.started = s.last_progress = Clock::now();
}

void StreamScheduler::ScheduleLocked(Stream& s) {
  if (s.queued) return;
  s.queued = true;
  ready_(s.id);
}

void StreamScheduler::ActivateLocked(const std::string& topic, EntryPtr entry) {
  const uint64_t id = next_id_++;
  Stream& s = active_[id];
  s.id = id;
  s.topic = topic;
  ResetStream(s, std::move(entry));
  active_by_topic_[topic] = id;
  ScheduleLocked(s);
}

bool StreamScheduler::Start(const std::string& topic, EntryPtr entry) {
  std::lock_guard lock(mutex_);
  if (auto found = active_by_topic_.find(topic); found != active_by_topic_.end()) {
    Stream& s = active_.at(found->second);
    ResetStream(s, std::move(entry));
    log_.Info(Printable(topic) + ": asked again; restarting its stream at chunk 0");
    if (CanSend(s)) ScheduleLocked(s);
    return true;
  }
  for (auto& [waiting_topic, waiting_entry] : waiting_) {
    if (waiting_topic == topic) {
      waiting_entry = std::move(entry);
      return true;
    }
  }
  if (active_.size() < limits_.max_active) {
    ActivateLocked(topic, std::move(entry));
    return true;
  }
  if (waiting_.size() >= limits_.max_waiting) return false;
  waiting_.emplace_back(topic, std::move(entry));
  log_.Debug(Printable(topic) + ": waiting for a free stream slot (" +
             std::to_string(waiting_.size()) + " waiting)");
  return true;
}

void StreamScheduler::Pump(uint64_t stream_id, std::vector<uint8_t>& scratch) {
  std::string topic;
  EntryPtr entry;
  uint32_t first = 0, count = 0;
  uint64_t generation = 0;
  {
    std::lock_guard lock(mutex_);
    const auto it = active_.find(stream_id);
    if (it == active_.end()) return;
    Stream& s = it->second;
    if (!CanSend(s)) {
      s.queued = false;
      AdvanceLocked(it);
      return;
    }
    // Reserve the batch before unlocking: its credit is spent now.
    first = s.next;
    count = std::min(batch_, s.total - s.next);
    s.next += count;
    s.outstanding += count;
    generation = s.generation;
    topic = s.topic;
    entry = s.entry;
  }

  uint32_t published = 0;
  for (; published < count; ++published) {
    BuildStreamChunk(*entry, first + published, scratch);
    if (!publish_(topic, scratch)) break;
  }
  bool marker_sent = false;
  if (published == count) {
    const std::string marker = Marker(stream_id, count);
    marker_sent =
        publish_(flow_topic_, {reinterpret_cast<const uint8_t*>(marker.data()), marker.size()});
  }

  std::lock_guard lock(mutex_);
  chunks_sent_ += published;
  const auto it = active_.find(stream_id);
  if (it == active_.end()) return;  // abandoned meanwhile
  Stream& s = it->second;
  s.last_progress = Clock::now();
  if (!marker_sent) {
    // Nothing of this batch will be confirmed: take its credit back, and
    // resend from the first chunk that did not go out (unless the device
    // restarted the stream meanwhile). Tick or a reconnection resumes it.
    s.outstanding -= std::min(s.outstanding, count);
    if (s.generation == generation) s.next = std::min(s.next, first + published);
    if (!s.paused) {
      log_.Warn(Printable(s.topic) + ": publishing failed at chunk " +
                std::to_string(first + published) + "; pausing the stream");
    }
    s.paused = true;
    s.queued = false;
    return;
  }
  if (CanSend(s)) {
    ready_(s.id);  // still queued: go to the back of the queue, for fairness
    return;
  }
  s.queued = false;
  AdvanceLocked(it);
}

bool StreamScheduler::OnFlowMarker(std::span<const uint8_t> payload) {
  const std::string_view text(reinterpret_cast<const char*>(payload.data()), payload.size());
  const size_t space1 = text.find(' ');
  const size_t space2 = space1 == std::string_view::npos ? space1 : text.find(' ', space1 + 1);
  if (space2 == std::string_view::npos || text.substr(0, space1) != nonce_) return false;
  uint64_t id = 0;
  uint32_t count = 0;
  if (!ParseNumber(text.substr(space1 + 1, space2 - space1 - 1), id) ||
      !ParseNumber(text.substr(space2 + 1), count)) {
    return false;
  }
  std::lock_guard lock(mutex_);
  const auto it = active_.find(id);
  if (it == active_.end()) return true;  // finished or abandoned meanwhile
  Stream& s = it->second;
  s.outstanding -= std::min(s.outstanding, count);
  s.last_progress = Clock::now();
  AdvanceLocked(it);
  return true;
}

void StreamScheduler::AdvanceLocked(StreamMap::iterator it) {
  Stream& s = it->second;
  if (s.queued) return;  // the running Pump decides when it ends
  if (CanSend(s)) {
    ScheduleLocked(s);
    return;
  }
  if (s.next < s.total || s.outstanding > 0) return;  // wait for credit or a resume
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - s.started).count();
  log_.Info(Printable(s.topic) + ": all " + std::to_string(s.total) + " chunks of " +
            s.entry->board + " " + s.entry->ProtocolVersion() + " accepted by the broker in " +
            std::to_string(ms) + " ms");
  active_by_topic_.erase(s.topic);
  active_.erase(it);
  ++streams_done_;
  if (!waiting_.empty()) {
    auto [topic, entry] = std::move(waiting_.front());
    waiting_.pop_front();
    ActivateLocked(topic, std::move(entry));
  }
  if (active_.empty() && waiting_.empty()) idle_.notify_all();
}

void StreamScheduler::Tick(Clock::time_point now) {
  std::lock_guard lock(mutex_);
  std::vector<uint64_t> stalled;
  for (auto& [id, s] : active_) {
    if (!s.queued && (s.paused || s.outstanding > 0) &&
        now - s.last_progress >= limits_.stall_timeout) {
      stalled.push_back(id);
    }
  }
  for (uint64_t id : stalled) {
    const auto it = active_.find(id);
    Stream& s = it->second;
    log_.Warn(Printable(s.topic) + ": no flow confirmation for " +
              std::to_string(limits_.stall_timeout.count()) + " ms; continuing at chunk " +
              std::to_string(s.next));
    s.outstanding = 0;
    s.paused = false;
    s.last_progress = now;
    AdvanceLocked(it);
  }
}

void StreamScheduler::ResumeAll() {
  std::lock_guard lock(mutex_);
  std::vector<uint64_t> ids;
  for (const auto& [id, s] : active_) ids.push_back(id);
  for (uint64_t id : ids) {
    const auto it = active_.find(id);
    if (it == active_.end()) continue;
    it->second.outstanding = 0;
    it->second.paused = false;
    it->second.last_progress = Clock::now();
    AdvanceLocked(it);
  }
}

bool StreamScheduler::WaitIdle(Clock::time_point deadline) {
  std::unique_lock lock(mutex_);
  return idle_.wait_until(lock, deadline, [&] { return active_.empty() && waiting_.empty(); });
}

size_t StreamScheduler::AbandonAll() {
  std::lock_guard lock(mutex_);
  const size_t count = active_.size() + waiting_.size();
  active_.clear();
  active_by_topic_.clear();
  waiting_.clear();
  idle_.notify_all();
  return count;
}

StreamScheduler::Stats StreamScheduler::stats() const {
  std::lock_guard lock(mutex_);
  return {active_.size(), waiting_.size(), chunks_sent_, streams_done_};
}

}  // namespace mqota::server
