#include "mqota/qemu_mps2/semihosting.h"

#include <cstdint>

namespace mqota::qemu_mps2 {
namespace {

constexpr uint32_t kSysExitExtended = 0x20;
constexpr uint32_t kAdpStoppedApplicationExit = 0x20026;

}  // namespace

void SemihostExit(int status) {
  // SYS_EXIT_EXTENDED takes a pointer to {reason, subcode}; QEMU exits with
  // the subcode when the reason is "application exit".
  const uint32_t block[2] = {kAdpStoppedApplicationExit, static_cast<uint32_t>(status)};
  asm volatile(
      "mov r0, %0\n"
      "mov r1, %1\n"
      "bkpt 0xab\n"
      :
      : "r"(kSysExitExtended), "r"(block)
      : "r0", "r1", "memory");
  // Not reached when the debugger (QEMU) serves semihosting.
  for (;;) {
  }
}

}  // namespace mqota::qemu_mps2
