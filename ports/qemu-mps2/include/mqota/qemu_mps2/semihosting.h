// Arm semihosting on M-profile (`bkpt 0xab`, r0 = operation, r1 = argument).
// QEMU serves it only with `-semihosting-config enable=on`; without it the
// breakpoint is a HardFault, which ends in a lockup (QEMU exit status 134).
#pragma once

namespace mqota::qemu_mps2 {

// Ends the emulation; QEMU exits with `status` (0..255 reach the shell).
// Uses SYS_EXIT_EXTENDED: plain SYS_EXIT can only say 0 or 1 on 32-bit Arm.
[[noreturn]] void SemihostExit(int status);

}  // namespace mqota::qemu_mps2
