// What mqota-server counts for Prometheus (docs/spec/metrics.md): counters
// that the serving path bumps as it goes, and the text exposition format a
// scrape reads, with gauges from the registry read at scrape time.
//
// The serving path takes no lock here: every counter is a relaxed atomic
// (a scrape may see one counter a moment ahead of another, which Prometheus
// tolerates). Labels that devices choose (a failure's reason) are bounded:
// the first kMaxReasons distinct reasons get their own series, later ones
// count under reason="other", so a device that invents reasons cannot grow
// the server's memory or Prometheus' series without bound.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "mqota/fleet/registry.h"
#include "mqota/server/request_handler.h"

namespace mqota::server {

std::string_view MessageKindLabel(MessageKind kind);  // "update_availability", ...

class Metrics {
 public:
  static constexpr size_t kMaxReasons = 16;
  static constexpr size_t kReasonBytes = 64;  // longer reasons are cut (on a UTF-8 boundary)
  // Upper bounds (seconds) of the registry write histogram; +Inf is implied.
  static constexpr std::array<double, 12> kWriteBuckets = {
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5};

  void CountRequest(MessageKind kind);
  // One chunk message published (its MQTT payload, chunk header included).
  void CountChunk(size_t payload_bytes);
  // A device's outcome that counts against an update: "failed", "refused",
  // "reverted", "rejected" (and "interrupted", which does not count against
  // the image). Others are ignored.
  void CountOutcome(std::string_view outcome, std::string_view reason);
  // One RecordAll: how long it took and how many events it wrote.
  void ObserveRegistryWrite(std::chrono::nanoseconds took, size_t events, bool failed);
  void CountHttpRequest(int status);

  // What the server knows only in memory, at scrape time.
  struct Live {
    size_t streams_active = 0;
    size_t streams_waiting = 0;
    size_t events_waiting = 0;  // for the registry (EventWriter's queue)
  };
  // The whole exposition (text format 0.0.4). `counts` is nullptr when the
  // registry could not be read: its gauges are left out and
  // mqota_registry_up is 0.
  std::string Render(const fleet::FleetCounts* counts, const Live& live,
                     double registry_read_seconds) const;

 private:
  struct ReasonSlot {
    std::atomic<int> state{0};  // 0 empty, 1 being claimed, 2 `text` is set
    std::string text;           // written once, before state becomes 2
    std::array<std::atomic<uint64_t>, 5> by_outcome{};
  };
  ReasonSlot* SlotFor(std::string_view reason);

  std::array<std::atomic<uint64_t>, kMessageKinds> requests_{};
  std::atomic<uint64_t> chunks_{0};
  std::atomic<uint64_t> chunk_bytes_{0};
  std::array<ReasonSlot, kMaxReasons> reasons_{};
  std::array<std::atomic<uint64_t>, 5> other_reason_{};
  std::array<std::atomic<uint64_t>, kWriteBuckets.size() + 1> write_buckets_{};  // not cumulative
  std::atomic<uint64_t> write_nanos_{0};
  std::atomic<uint64_t> write_failures_{0};
  std::atomic<uint64_t> events_written_{0};
  std::array<std::atomic<uint64_t>, 5> http_by_class_{};  // 1xx..5xx
  const std::chrono::system_clock::time_point started_ = std::chrono::system_clock::now();
};

// A label value escaped for the text format (backslash, quote, newline).
std::string EscapeLabelValue(std::string_view value);

}  // namespace mqota::server
