// Stack use of the firmware. Reset_Handler paints the free stack with a
// pattern before main(); the high-water mark is the deepest word overwritten.
#pragma once

#include <cstdint>

namespace mqota::qemu_mps2 {

// Size of the stack region reserved by the linker script (__stack_size).
uint32_t StackSizeBytes();
// Bytes of that region written so far, counted from the top.
uint32_t StackUsedBytes();

}  // namespace mqota::qemu_mps2
