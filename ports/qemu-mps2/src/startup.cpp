// Reset and fault handling for mps2-an386, in C++ (no assembly file).
//
// The firmware is linked with -nostartfiles, so nothing of crt0 runs: this
// file is the whole C runtime start. QEMU's M-profile reset loads SP and PC
// from the vector table at 0x0 (VTOR = 0); the ELF entry point is not used.
#include <cstdint>

#include "mqota/qemu_mps2/console.h"
#include "mqota/qemu_mps2/semihosting.h"
#include "mqota/qemu_mps2/stack.h"

extern "C" {
// Defined by mps2-an386.ld.
extern uint32_t __data_start[];
extern uint32_t __data_end[];
extern const uint32_t __data_load[];
extern uint32_t __bss_start[];
extern uint32_t __bss_end[];
extern uint32_t __stack_limit[];
extern uint32_t __stack_top[];
using InitFunction = void (*)();
extern const InitFunction __preinit_array_start[];
extern const InitFunction __preinit_array_end[];
extern const InitFunction __init_array_start[];
extern const InitFunction __init_array_end[];

int main();
[[noreturn]] void Reset_Handler();
void Default_Handler();
[[noreturn]] void mqota_report_fault(const uint32_t* frame);
// newlib's abort() and exit() end here. libnosys' version spins forever, which
// would turn a failed assertion into a 20 s timeout instead of a status.
[[noreturn]] void _exit(int status);
}

namespace {

using mqota::qemu_mps2::kStackPaint;
constexpr int kFaultExitStatus = 99;

// System control block registers (ARMv7-M ARM, B3.2).
constexpr uintptr_t kCpacr = 0xE000ED88;  // coprocessor access control
constexpr uintptr_t kCfsr = 0xE000ED28;   // configurable fault status
constexpr uintptr_t kHfsr = 0xE000ED2C;   // hard fault status

volatile uint32_t& Register(uintptr_t address) {
  return *reinterpret_cast<volatile uint32_t*>(address);
}

struct VectorTable {
  const void* initial_sp;
  void (*handlers[15])();
};

// Only the 16 system exceptions: the port enables no interrupt, so no
// external vector can be taken.
[[gnu::used, gnu::section(".isr_vector")]] constinit const VectorTable kVectorTable = {
    __stack_top,
    {
        Reset_Handler,
        Default_Handler,  // NMI
        Default_Handler,  // HardFault
        Default_Handler,  // MemManage
        Default_Handler,  // BusFault
        Default_Handler,  // UsageFault
        nullptr, nullptr, nullptr, nullptr,
        Default_Handler,  // SVCall
        Default_Handler,  // DebugMonitor
        nullptr,
        Default_Handler,  // PendSV
        Default_Handler,  // SysTick
    },
};

void RunInitFunctions(const InitFunction* begin, const InitFunction* end) {
  for (const InitFunction* f = begin; f < end; ++f) (*f)();
}

}  // namespace

extern "C" void Reset_Handler() {
  // FPU first: with -mfloat-abi=hard any FP instruction before this is a
  // UsageFault (NOCP). CP10 and CP11: full access.
  Register(kCpacr) = Register(kCpacr) | (0xFu << 20);
  asm volatile("dsb\n isb" ::: "memory");

  // Volatile pointers: GCC would otherwise turn the loops into memcpy/memset
  // calls, which is newlib code running before .data exists.
  const volatile uint32_t* src = __data_load;
  for (volatile uint32_t* dst = __data_start; dst < __data_end;) *dst++ = *src++;
  for (volatile uint32_t* dst = __bss_start; dst < __bss_end;) *dst++ = 0;

  // Paint the free stack (everything below the current SP) for StackUsedBytes.
  uint32_t* sp;
  asm volatile("mov %0, sp" : "=r"(sp));
  for (volatile uint32_t* p = __stack_limit; p < sp;) *p++ = kStackPaint;

  // Before the constructors, so that they may print.
  mqota::qemu_mps2::ConsoleInit();
  RunInitFunctions(__preinit_array_start, __preinit_array_end);
  RunInitFunctions(__init_array_start, __init_array_end);

  // This file is the C runtime, which is where main() is called from.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpedantic"
  const int status = main();
#pragma GCC diagnostic pop
  mqota::qemu_mps2::SemihostExit(status);
}

// Naked: finds the exception frame (MSP or PSP, from EXC_RETURN in LR) before
// any prologue moves SP, and hands it to mqota_report_fault.
extern "C" [[gnu::naked]] void Default_Handler() {
  asm volatile(
      "tst lr, #4\n"
      "ite eq\n"
      "mrseq r0, msp\n"
      "mrsne r0, psp\n"
      "b mqota_report_fault\n");
}

// Prints what faulted and ends the run with status 99, so a crash fails the
// test at once instead of hanging until the timeout. Frame layout (ARMv7-M
// B1.5.6): r0 r1 r2 r3 r12 lr pc xpsr.
extern "C" [[gnu::used]] void mqota_report_fault(const uint32_t* frame) {
  using namespace mqota::qemu_mps2;
  uint32_t ipsr;
  asm volatile("mrs %0, ipsr" : "=r"(ipsr));
  ConsoleInit();
  ConsoleWrite("\nFAULT: exception ");
  ConsoleWriteDec(ipsr & 0x1ff);
  ConsoleWrite(" pc ");
  ConsoleWriteHex(frame[6]);
  ConsoleWrite(" lr ");
  ConsoleWriteHex(frame[5]);
  ConsoleWrite(" cfsr ");
  ConsoleWriteHex(Register(kCfsr));
  ConsoleWrite(" hfsr ");
  ConsoleWriteHex(Register(kHfsr));
  ConsoleWrite("\n");
  SemihostExit(kFaultExitStatus);
}

extern "C" void _exit(int status) { mqota::qemu_mps2::SemihostExit(status); }

namespace mqota::qemu_mps2 {

uint32_t StackSizeBytes() {
  return static_cast<uint32_t>(reinterpret_cast<uintptr_t>(__stack_top) -
                               reinterpret_cast<uintptr_t>(__stack_limit));
}

uint32_t StackUsedBytes() {
  const volatile uint32_t* p = __stack_limit;
  while (p < __stack_top && *p == kStackPaint) ++p;
  return static_cast<uint32_t>(reinterpret_cast<uintptr_t>(__stack_top) -
                               reinterpret_cast<uintptr_t>(p));
}

}  // namespace mqota::qemu_mps2
