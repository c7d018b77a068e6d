// Stack use of the firmware. Reset_Handler paints the free stack with a
// pattern before main(); the high-water mark is the deepest word overwritten.
#pragma once

#include <cstdint>

namespace mqota::qemu_mps2 {

// The pattern the free stack is painted with (__stack_limit up to the SP). A
// check that measures one call's stack paints it again with the same pattern
// (selftest/boot_checks.cpp), so StackUsedBytes keeps working.
inline constexpr uint32_t kStackPaint = 0xa5a5a5a5;

// Size of the stack region reserved by the linker script (__stack_size).
uint32_t StackSizeBytes();
// Bytes of that region written so far, counted from the top.
uint32_t StackUsedBytes();

}  // namespace mqota::qemu_mps2
