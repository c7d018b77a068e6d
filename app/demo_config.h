// Build options of the demo firmware, as the reference example sets them in
// its Makefile (APP_VERSION_*, BLINKY_DELAY_MS, DEFINES+=TEST_REVERT).
#pragma once

#ifndef MQOTA_APP_VERSION
#error "MQOTA_APP_VERSION (\"major.minor.revision\") is set by app/CMakeLists.txt"
#endif
#ifndef MQOTA_APP_BLINK_PERIOD_MS
#error "MQOTA_APP_BLINK_PERIOD_MS is set by app/CMakeLists.txt"
#endif
#ifndef MQOTA_APP_TEST_REVERT
#define MQOTA_APP_TEST_REVERT 0
#endif

namespace mqota::app {

inline constexpr const char kVersion[] = MQOTA_APP_VERSION;
// One full on/off cycle: 1000 ms is 1 Hz. (The reference toggles the LED
// every BLINKY_DELAY_MS = 1000 ms, which is 0.5 Hz although its README says
// 1 Hz; mqota's firmware blinks at the rate it claims.)
inline constexpr unsigned kBlinkPeriodMs = MQOTA_APP_BLINK_PERIOD_MS;
inline constexpr bool kTestRevert = MQOTA_APP_TEST_REVERT != 0;

}  // namespace mqota::app
