#include "mqota/board/events.h"

#include <cmath>
#include <stdexcept>

namespace mqota::board {

EventLog::EventLog(const std::string& events_path, bool quiet) : quiet_(quiet) {
  if (!events_path.empty()) {
    events_ = std::fopen(events_path.c_str(), "a");
    if (!events_) throw std::runtime_error("cannot open the event file " + events_path);
  }
}

EventLog::~EventLog() {
  if (events_) std::fclose(events_);
}

double EventLog::NowMs() const {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start_)
      .count();
}

void EventLog::Emit(std::string_view source, std::string_view name, nlohmann::json event,
                    std::string_view human) {
  const double t = NowMs();
  if (events_) {
    event["t"] = std::round(t * 10) / 10;
    event["event"] = name;
    // One line per event, flushed: a reader (or a power cut) sees whole lines.
    std::fprintf(events_, "%s\n",
                 event.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    std::fflush(events_);
  }
  if (!quiet_ && !human.empty()) {
    std::printf("[%9.3f] %-5.*s %.*s\n", t / 1000, static_cast<int>(source.size()), source.data(),
                static_cast<int>(human.size()), human.data());
    std::fflush(stdout);
  }
}

void EventLog::Led(bool on) {
  Emit("led", "led", {{"on", on}}, "");
  if (!on) return;
  const double t = NowMs();
  if (last_rise_ms_ >= 0) {
    const double period = t - last_rise_ms_;
    // Three periods within 15% of each other make a rate worth telling.
    const bool similar = last_period_ms_ > 0 && std::abs(period - last_period_ms_) < 0.15 * period;
    stable_periods_ = similar ? stable_periods_ + 1 : 0;
    last_period_ms_ = period;
    const double hz = 1000.0 / period;
    if (stable_periods_ >= 2 && std::abs(hz - reported_hz_) > 0.15 * hz) {
      reported_hz_ = hz;
      char text[64];
      std::snprintf(text, sizeof text, "blinking at %.2f Hz", hz);
      Emit("led", "led-rate", {{"hz", hz}}, text);
    }
  }
  last_rise_ms_ = t;
}

}  // namespace mqota::board
