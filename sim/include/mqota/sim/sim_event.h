// What a simulated device did, one event at a time: the sim's output, one
// JSON line each, e.g.
//   {"time":1718000000123,"t":1.204,"device":"sim-0003","event":"downloading",
//    "version":"1.1.0","percent":40}
// Names shared with the server's registry are fleet::EventKind's names
// (offered, downloading, pending, booted, confirmed, reverted, rejected,
// refused, failed, interrupted), so a test can set the two side by side. The
// others are the device's own: connected, disconnected, asked, stalled,
// reset, hang, dropped, power-cut (sim/README.md lists them all).
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <mutex>
#include <optional>
#include <string>

namespace mqota::sim {

struct SimEvent {
  int64_t time_ms = 0;   // wall clock, ms since the Unix epoch (as fleet::TimeMs)
  double elapsed_s = 0;  // since the fleet started
  std::string device;    // "sim-0003"
  std::string name;      // "downloading"
  std::string version;   // the image it is about, "1.1.0"; may be empty
  std::optional<int> percent;
  std::string reason;  // failures and faults: why, or which phase
};

std::string ToJsonLine(const SimEvent& event);  // without the newline

// Where events go: a FILE (one line each, flushed at the end) and/or a
// callback. Safe to call from every worker thread.
class EventLog {
 public:
  EventLog() = default;
  explicit EventLog(std::FILE* out) : out_(out) {}
  void set_callback(std::function<void(const SimEvent&)> callback) {
    callback_ = std::move(callback);
  }
  void Write(const SimEvent& event);
  void Flush();
  uint64_t count() const;

 private:
  mutable std::mutex mutex_;
  std::FILE* out_ = nullptr;
  std::function<void(const SimEvent&)> callback_;
  uint64_t count_ = 0;
};

}  // namespace mqota::sim
