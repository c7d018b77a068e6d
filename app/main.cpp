// The demo firmware, as the reference code example: an LED task blinking at
// the build's rate and an OTA task (the agent), in one application that the
// build signs and the virtual board runs from its primary slot. Built three
// times: 1.0.0 at 1 Hz, 1.1.0 at 10 Hz, and 1.2.0 with TEST_REVERT, which
// hangs before it confirms itself or feeds the watchdog.
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <optional>
#include <thread>

#include "demo_config.h"
#include "mqota/board/channel.h"
#include "mqota/boot/boot_record.h"
#include "ota_task.h"

namespace {

using namespace std::chrono_literals;
using namespace mqota;

void LedTask(const board::BoardLink& link, const std::atomic<bool>& stop) {
  const auto half = std::chrono::milliseconds(app::kBlinkPeriodMs / 2);
  auto next = std::chrono::steady_clock::now();
  for (bool on = true; !stop; on = !on) {
    link.Led(on);
    next += half;  // no drift: the rate is measured from these edges
    std::this_thread::sleep_until(next);
  }
}

}  // namespace

int main() {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // the UART shows whole lines as they come
  std::string error;
  const std::optional<board::BoardLink> link = board::BoardLink::Attach(&error);
  if (!link) {
    std::fprintf(stderr, "mqota demo firmware: %s\n", error.c_str());
    return 1;
  }
  const board::BoardFacts& facts = link->facts();
  std::optional<boot::BootRecord> record;
  if (facts.boot_record.size() == boot::kBootRecordBytes) {
    record = boot::DecodeBootRecord(std::span<const uint8_t, boot::kBootRecordBytes>(
        facts.boot_record.data(), boot::kBootRecordBytes));
  }
  std::printf("mqota demo firmware %s, device %s on %s, LED period %u ms\n", app::kVersion,
              facts.device_id.c_str(), facts.board.c_str(), app::kBlinkPeriodMs);

  if constexpr (app::kTestRevert) {
    // The reference's TEST_REVERT: stop before the tasks exist, before the
    // image is confirmed and before the watchdog is fed.
    std::printf("TEST_REVERT: %s hangs here; the watchdog will reset the board\n", app::kVersion);
    for (;;) pause();
  }

  std::atomic<bool> stop{false};
  std::thread led(LedTask, std::cref(*link), std::cref(stop));
  std::unique_ptr<app::OtaTask> ota = app::OtaTask::Start(facts, record, &error);
  if (!ota) std::printf("ota: not started: %s\n", error.c_str());

  // The main loop feeds the watchdog: if it hangs, the board resets.
  for (;;) {
    link->KickWatchdog();
    if (ota && (ota->ResetWanted() || ota->TrialFailed())) {
      if (ota->TrialFailed()) std::printf("ota: never reached the broker on trial; resetting\n");
      link->RequestReset();
      std::this_thread::sleep_for(5s);  // the board kills this process
    }
    std::this_thread::sleep_for(100ms);
  }
}
