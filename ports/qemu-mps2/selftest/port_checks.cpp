// Checks of this port's startup code (src/startup.cpp): everything the C++
// code below relies on before main() runs.
#include <cstdint>

#include "check.h"
#include "layers.h"
#include "mqota/qemu_mps2/stack.h"

namespace mqota::selftest {
namespace {

using qemu_mps2::StackSizeBytes;
using qemu_mps2::StackUsedBytes;

// .data: must hold its initial value, copied from flash by Reset_Handler.
uint32_t g_initialised = 0x600dda7a;
// .bss: must read as zero although RAM may start out with anything.
uint32_t g_zeroed[16];

// A dynamic initialiser: only runs if Reset_Handler walks .init_array.
uint32_t Computed() { return Opaque(0x1234u) * 3; }
const uint32_t g_constructed = Computed();

const char* DataIsCopied() {
  Clobber(&g_initialised);
  MQOTA_EXPECT(g_initialised == 0x600dda7a);
  return nullptr;
}

const char* BssIsZeroed() {
  Clobber(g_zeroed);
  for (uint32_t word : g_zeroed) MQOTA_EXPECT(word == 0);
  return nullptr;
}

const char* ConstructorsRan() {
  Clobber(&g_constructed);
  MQOTA_EXPECT(g_constructed == 0x1234u * 3);
  return nullptr;
}

// With -mfloat-abi=hard this traps (UsageFault, status 99) unless the FPU was
// enabled.
const char* FpuIsEnabled() {
  const float x = Opaque(1.5f);
  MQOTA_EXPECT(x * x == 2.25f);
  return nullptr;
}

const char* StackIsPainted() {
  MQOTA_EXPECT(StackUsedBytes() > 0);
  MQOTA_EXPECT(StackUsedBytes() < StackSizeBytes());
  return nullptr;
}

constexpr Check kChecks[] = {
    {"data_is_copied", DataIsCopied},      {"bss_is_zeroed", BssIsZeroed},
    {"constructors_ran", ConstructorsRan}, {"fpu_is_enabled", FpuIsEnabled},
    {"stack_is_painted", StackIsPainted},
};

}  // namespace

Layer PortChecks() { return {"port", kChecks}; }

}  // namespace mqota::selftest
