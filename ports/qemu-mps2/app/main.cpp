// The app firmware the bootloader boots (mqota-boot.elf): it prints its
// version, then looks at its own trailer in the primary slot. On trial (a
// test swap put it there) it either confirms itself (built with
// MQOTA_APP_CONFIRMS=1) or does not and requests a system reset, after which
// the bootloader reverts it. Already confirmed: it says so and ends the run
// (semihosting exit 0), so each QEMU test ends by itself.
//
// The slots live in file-backed PSRAM, which QEMU keeps across a system
// reset (board_flash.h), so the bootloader sees this image unconfirmed after
// the reset and reverts it.
//
// UART lines (ports/qemu-mps2/README.md#booting-signed-images):
//   app: version <version>
//   app: on trial, confirming | app: confirmed | app: on trial, not confirming: reset
#include <cstdint>

#include "mqota/boot/app_api.h"
#include "mqota/boot/trailer.h"
#include "mqota/flash/flash_area.h"
#include "mqota/qemu_mps2/board_flash.h"
#include "mqota/qemu_mps2/console.h"
#include "mqota/qemu_mps2/memory_flash.h"

namespace {

using namespace mqota;
namespace board = qemu_mps2::board;

// SCB->AIRCR with VECTKEY and SYSRESETREQ (ARMv7-M ARM, B3.2.6): QEMU resets
// the whole machine, CPU and devices, and keeps the memory as it is.
[[noreturn]] void SystemReset() {
  *reinterpret_cast<volatile uint32_t*>(0xE000ED0C) = 0x05FA0004;
  asm volatile("dsb" ::: "memory");
  for (;;) {
  }
}

}  // namespace

int main() {
  qemu_mps2::ConsoleWrite("app: version " MQOTA_APP_VERSION "\n");
  qemu_mps2::MemoryFlash chip(board::kGeometry, board::kFlashBase);
  const flash::FlashArea primary(chip, board::kPrimaryOffset, board::kSlotBytes);
  const flash::FlashArea secondary(chip, board::kSecondaryOffset, board::kSlotBytes);
  const boot::Trailer primary_trailer(primary, board::kTrailer);
  const boot::Trailer secondary_trailer(secondary, board::kTrailer);
  const auto state = boot::ReadSwapState(primary_trailer, secondary_trailer);
  if (!state.ok()) {
    qemu_mps2::ConsoleWrite("app: cannot read the trailers\n");
    return 2;
  }
  if (!state->running_unconfirmed) {
    qemu_mps2::ConsoleWrite("app: confirmed\n");
    return 0;
  }
  if (MQOTA_APP_CONFIRMS) {
    qemu_mps2::ConsoleWrite("app: on trial, confirming\n");
    if (!boot::SetConfirmed(primary_trailer).ok()) return 2;
    // Ends the run; a second run on the same flash file shows the kept image.
    return 0;
  }
  qemu_mps2::ConsoleWrite("app: on trial, not confirming: reset\n");
  SystemReset();
}
