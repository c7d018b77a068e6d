// Push-mode streams ("Request Update"): every chunk of an image to one
// device topic, in index order, for many devices at once on one connection
// and a fixed pool of workers (P1: publisher.py spends one thread and one
// connection per download).
//
// Flow control. MqttClient::Publish only queues (libmosquitto copies the
// payload and sends it when it can), so publishing a whole image at once would
// hold every chunk of every stream in memory and flood the broker (P2). Each
// stream may therefore have at most `window` chunks unconfirmed. Confirmation
// comes from the broker itself: after each batch of window/2 chunks the
// stream publishes a small QoS 1 "flow marker" on the server's own flow topic,
// to which the server is subscribed. The broker handles one connection's
// PUBLISHes in order, so when a marker comes back every chunk published
// before it has been accepted by the broker and queued for the device; the
// marker then returns its batch's credit. Two half-window batches are in
// flight at a time, so a stream never waits for a full round trip. Memory for
// data in flight is bounded by max_active x window x 4128 bytes; waiting
// streams hold only a topic and a reference to the shared image.
//
// Threads: Start, Pump and Tick run on workers or the housekeeping thread,
// OnFlowMarker on the MQTT network thread; one mutex guards all stream state
// and is never held while publishing. A stream is pumped by at most one
// worker at a time (`queued`), which keeps its chunks in index order.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "mqota/server/catalog.h"
#include "mqota/server/log.h"

namespace mqota::server {

struct StreamLimits {
  uint32_t window = 8;        // chunks a stream may have unconfirmed (>= 2)
  size_t max_active = 64;     // streams sending at once; later ones wait their turn
  size_t max_waiting = 4096;  // beyond this a new stream is refused
  // No marker back for this long: assume it was lost (broker dropped the
  // connection) and continue.
  std::chrono::milliseconds stall_timeout{10000};
};

class StreamScheduler {
 public:
  using Clock = std::chrono::steady_clock;
  // Queues one QoS 1 message; false when the client refused it.
  using PublishFn = std::function<bool(std::string_view topic, std::span<const uint8_t> payload)>;
  // Hands a stream to the worker pool, which then calls Pump(id). Called with
  // the scheduler's lock held: it must only queue.
  using ReadyFn = std::function<void(uint64_t stream_id)>;

  StreamScheduler(StreamLimits limits, std::string flow_topic, PublishFn publish, ReadyFn ready,
                  Logger& log);

  // Sends `entry` to `topic`; if that topic already has a stream, restarts it
  // from chunk 0 (the device asked again: it lacks something). False when the
  // waiting list is full.
  bool Start(const std::string& topic, EntryPtr entry);

  // Worker: publishes the stream's next batch (at most window/2 chunks, as far
  // as its credit allows) and its flow marker. `scratch` is the worker's chunk
  // buffer.
  void Pump(uint64_t stream_id, std::vector<uint8_t>& scratch);

  // A message on the flow topic. False when it is not one of this
  // scheduler's markers.
  bool OnFlowMarker(std::span<const uint8_t> payload);

  // Periodic: streams without confirmation for stall_timeout continue.
  void Tick(Clock::time_point now);
  // After a reconnection: markers in flight may be lost, and paused streams
  // can go on.
  void ResumeAll();

  // True once nothing is sending or waiting, false at the deadline.
  bool WaitIdle(Clock::time_point deadline);
  // Drops every stream (shutdown); returns how many there were.
  size_t AbandonAll();

  struct Stats {
    size_t active = 0;
    size_t waiting = 0;
    uint64_t chunks_sent = 0;
    uint64_t streams_done = 0;
  };
  Stats stats() const;

  const std::string& flow_topic() const { return flow_topic_; }
  // The marker payload for (stream, count): "<nonce> <stream id> <count>".
  std::string Marker(uint64_t stream_id, uint32_t count) const;

 private:
  struct Stream {
    uint64_t id = 0;
    std::string topic;
    EntryPtr entry;
    uint32_t total = 0;        // chunks
    uint32_t next = 0;         // next chunk to publish
    uint32_t outstanding = 0;  // published, marker not back yet
    uint64_t generation = 0;   // bumped by a restart
    bool queued = false;       // a Pump is queued or running
    bool paused = false;       // a publish failed: wait for Tick or ResumeAll
    Clock::time_point started;
    Clock::time_point last_progress;
  };
  using StreamMap = std::unordered_map<uint64_t, Stream>;

  bool CanSend(const Stream& s) const;
  void ActivateLocked(const std::string& topic, EntryPtr entry);
  void ScheduleLocked(Stream& s);
  // Schedules the stream if it can send, or finishes it if everything is
  // confirmed. May erase it.
  void AdvanceLocked(StreamMap::iterator it);
  void ResetStream(Stream& s, EntryPtr entry);

  const StreamLimits limits_;
  const uint32_t batch_;  // chunks per marker
  const std::string flow_topic_;
  const std::string nonce_;  // tells this process's markers from anything else
  const PublishFn publish_;
  const ReadyFn ready_;
  Logger& log_;

  mutable std::mutex mutex_;
  std::condition_variable idle_;
  StreamMap active_;
  std::unordered_map<std::string, uint64_t> active_by_topic_;
  std::deque<std::pair<std::string, EntryPtr>> waiting_;
  uint64_t next_id_ = 1;
  uint64_t chunks_sent_ = 0;
  uint64_t streams_done_ = 0;
};

}  // namespace mqota::server
