#include "mqota/sim/sim_event.h"

#include <cmath>
#include <nlohmann/json.hpp>

namespace mqota::sim {

std::string ToJsonLine(const SimEvent& e) {
  nlohmann::ordered_json j;
  j["time"] = e.time_ms;
  j["t"] = std::round(e.elapsed_s * 1000) / 1000;
  j["device"] = e.device;
  j["event"] = e.name;
  if (!e.version.empty()) j["version"] = e.version;
  if (e.percent) j["percent"] = *e.percent;
  if (!e.reason.empty()) j["reason"] = e.reason;
  return j.dump();
}

void EventLog::Write(const SimEvent& event) {
  std::lock_guard lock(mutex_);
  ++count_;
  if (out_ != nullptr) {
    const std::string line = ToJsonLine(event) + "\n";
    std::fwrite(line.data(), 1, line.size(), out_);
  }
  if (callback_) callback_(event);
}

void EventLog::Flush() {
  std::lock_guard lock(mutex_);
  if (out_ != nullptr) std::fflush(out_);
}

uint64_t EventLog::count() const {
  std::lock_guard lock(mutex_);
  return count_;
}

}  // namespace mqota::sim
