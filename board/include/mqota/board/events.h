// What happens on the virtual board, as it happens: a line for people on
// stdout, and (optionally) a JSON line per event for programs (the demo, the
// tests) with a timestamp in milliseconds since the board powered on:
//
//   {"t":12.5,"event":"power-on"}
//   {"t":40.1,"event":"boot","swap":"test","resumed":false,"version":"1.1.0",
//    "confirmed":false,"rejected":"none","previous":"1.0.0"}
//   {"t":41.0,"event":"app-start","version":"1.1.0","bytes":812345}
//   {"t":90.2,"event":"led","on":true}
//   {"t":95.0,"event":"uart","line":"..."}
//   {"t":4100.0,"event":"watchdog"}      the watchdog bit: a reset follows
//   {"t":50.0,"event":"reset-request"}   the application asked for a reset
//   {"t":60.0,"event":"app-exit","status":"exit 1"}
//   {"t":70.0,"event":"halt","reason":"..."}   nothing bootable
//   {"t":80.0,"event":"power-off"}
#pragma once

#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace mqota::board {

class EventLog {
 public:
  // `events_path` empty: no JSON lines. `quiet`: no human lines.
  EventLog(const std::string& events_path, bool quiet);
  ~EventLog();
  EventLog(const EventLog&) = delete;
  EventLog& operator=(const EventLog&) = delete;

  // Records `event` (its "t" and "event" are filled in) and prints `human`
  // (if not empty) under `source` ("board", "boot", "uart", "led").
  void Emit(std::string_view source, std::string_view name, nlohmann::json event,
            std::string_view human);
  // The LED: every edge is an event; people get a line when the measured
  // blink rate settles on a new value.
  void Led(bool on);

  double NowMs() const;

 private:
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  std::FILE* events_ = nullptr;
  bool quiet_;
  double last_rise_ms_ = -1;
  double last_period_ms_ = 0;
  int stable_periods_ = 0;
  double reported_hz_ = 0;
};

}  // namespace mqota::board
