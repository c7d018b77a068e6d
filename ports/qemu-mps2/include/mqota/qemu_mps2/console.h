// The firmware's text console: UART0 of the mps2-an386 board (a CMSDK APB
// UART), which QEMU connects to `-serial` (stdout in run-on-qemu.sh).
//
// This is the only channel the port prints on. Semihosting's console would go
// to QEMU's stderr, and two streams interleave mid-line when a test merges
// them.
//
// All calls poll the UART: they block only until the transmit register is
// free, need no interrupts and no heap, and are safe from a fault handler.
#pragma once

#include <cstdint>

namespace mqota::qemu_mps2 {

// Enables the transmitter. Idempotent; Reset_Handler calls it before main().
void ConsoleInit();

void ConsoleWrite(const char* text);
// `value` in decimal, without padding.
void ConsoleWriteDec(uint32_t value);
// `value` as 0x followed by 8 hex digits.
void ConsoleWriteHex(uint32_t value);

}  // namespace mqota::qemu_mps2
