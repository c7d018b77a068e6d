// One call's stack need, measured by painting: the free stack below the
// current frame is painted again with the port's pattern, the call runs, and
// the deepest word it overwrote gives its need. boot_checks.cpp's MeasuredBoot
// does the same for Boot(), with the port's own high-water mark kept.
#pragma once

#include <cstdint>

#include "mqota/qemu_mps2/stack.h"

// The stack's lowest word, from the linker script (mps2-an386.ld).
extern "C" uint32_t __stack_limit[];

namespace mqota::selftest {

// Runs `call()` and returns the bytes of stack it used below this function's
// frame. Noinline, so the painted region starts below a frame that exists.
template <typename Call>
[[gnu::noinline]] uint32_t MeasureStackBytes(Call call) {
  using qemu_mps2::kStackPaint;
  uint32_t* sp;
  asm volatile("mov %0, sp" : "=r"(sp));
  // The deepest word the port's high-water mark has seen so far: repainting
  // would erase it, so it is marked used again afterwards.
  volatile uint32_t* const port_mark =
      __stack_limit + (qemu_mps2::StackSizeBytes() - qemu_mps2::StackUsedBytes()) / 4;
  // Volatile: not turned into a memset call, which would run below sp.
  for (volatile uint32_t* p = __stack_limit; p < sp;) *p++ = kStackPaint;
  call();
  const volatile uint32_t* deepest = __stack_limit;
  while (deepest < sp && *deepest == kStackPaint) ++deepest;
  if (port_mark < deepest) *port_mark = ~kStackPaint;
  return static_cast<uint32_t>(reinterpret_cast<uintptr_t>(sp) -
                               reinterpret_cast<uintptr_t>(deepest));
}

}  // namespace mqota::selftest
