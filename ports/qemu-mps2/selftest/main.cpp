// mqota-selftest: runs the device core's checks on the emulated Cortex-M4.
//
// Output, one line per check, then a summary that is always the last line:
//   ok base.load_le32
//   FAIL base.store_le32: base_checks.cpp:57: bytes[3] == 0x12
//   stack: 352 of 8192 bytes used
//   selftest: 17 passed, 1 failed
// Exit status: the number of failed checks (at most 98, so it cannot be taken
// for run-on-qemu.sh's 99 = fault), or 1 when no check ran at all.
#include <cstdint>

#include "layers.h"
#include "mqota/qemu_mps2/console.h"
#include "mqota/qemu_mps2/stack.h"

namespace {

using mqota::selftest::Layer;
using namespace mqota::qemu_mps2;

constexpr Layer (*kLayers[])() = {
    mqota::selftest::PortChecks,  mqota::selftest::BaseChecks, mqota::selftest::FlashChecks,
    mqota::selftest::ImageChecks, mqota::selftest::BootChecks, mqota::selftest::DeltaChecks,
};

constexpr uint32_t kMaxExitStatus = 98;

}  // namespace

int main() {
  uint32_t passed = 0;
  uint32_t failed = 0;
  for (Layer (*layer_fn)() : kLayers) {
    const Layer layer = layer_fn();
    for (const mqota::selftest::Check& check : layer.checks) {
      const char* why = check.run();
      ConsoleWrite(why == nullptr ? "ok " : "FAIL ");
      ConsoleWrite(layer.name);
      ConsoleWrite(".");
      ConsoleWrite(check.name);
      if (why != nullptr) {
        ConsoleWrite(": ");
        ConsoleWrite(why);
        ++failed;
      } else {
        ++passed;
      }
      ConsoleWrite("\n");
    }
  }
  ConsoleWrite("stack: ");
  ConsoleWriteDec(StackUsedBytes());
  ConsoleWrite(" of ");
  ConsoleWriteDec(StackSizeBytes());
  ConsoleWrite(" bytes used\n");
  ConsoleWrite("selftest: ");
  ConsoleWriteDec(passed);
  ConsoleWrite(" passed, ");
  ConsoleWriteDec(failed);
  ConsoleWrite(" failed\n");
  if (passed + failed == 0) return 1;  // a runner that ran nothing proves nothing
  return static_cast<int>(failed < kMaxExitStatus ? failed : kMaxExitStatus);
}
