// Reads the virtual board's event file (board/include/mqota/board/events.h)
// as the board appends to it, and measures what the demo narrates: which
// version booted, how fast the LED blinks.
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace mqota::cli::demo {

class BoardEvents {
 public:
  explicit BoardEvents(std::filesystem::path path) : path_(std::move(path)) {}

  // Reads the lines appended since the last call; returns the new events.
  std::vector<nlohmann::json> Poll();

  // The blink rate of the application started last: periods counted over
  // all its rising edges, once there are at least `min_periods` spanning at
  // least `min_span_ms` (so a fast blinker is measured over many periods and
  // scheduling jitter at the ends stays small); nullopt until then.
  std::optional<double> BlinkHz(int min_periods = 3, double min_span_ms = 900) const;
  // Periods and span of the last measurement.
  int measured_periods() const { return rises_.empty() ? 0 : static_cast<int>(rises_.size()) - 1; }
  const std::vector<nlohmann::json>& all() const { return events_; }

 private:
  std::filesystem::path path_;
  uint64_t offset_ = 0;
  std::string partial_;
  std::vector<nlohmann::json> events_;
  std::vector<double> rises_;  // since the last app-start, in board ms
};

}  // namespace mqota::cli::demo
