// mqota-boot: the bootloader firmware for mps2-an386. It runs the boot core
// (boot::Boot with swap-scratch) on the board's flash map (board_flash.h),
// validates with SHA-256 and ECDSA P-256 (ports/mbedtls, mbedTLS built for the
// M4), and jumps into the image in the primary slot through its vector table.
//
// UART lines (tests match them, ports/qemu-mps2/README.md):
//   mqota-boot: swap <NONE|TEST|PERM|REVERT>[ (resumed)]
//   mqota-boot: rejected <reason>: <image error> (offset N) [version V]
//   mqota-boot: booting <version> (confirmed|on trial)
//   mqota-boot: stack <bytes>
//   mqota-boot: no bootable image: <why>           then exit status 3
//
// The trusted key is the P-256 test key of tests/vectors/imgtool (its public
// half, embedded at build time): the build signs the app with its private
// half. A product embeds its own key here.
#include <array>
#include <cstdint>

#include "mqota/boot/bootloader.h"
#include "mqota/boot/error.h"
#include "mqota/boot/swap_scratch.h"
#include "mqota/boot/swap_type.h"
#include "mqota/flash/flash_area.h"
#include "mqota/image/error.h"
#include "mqota/image/validate.h"
#include "mqota/image/version.h"
#include "mqota/ports/mbedtls/mbedtls_crypto.h"
#include "mqota/qemu_mps2/board_flash.h"
#include "mqota/qemu_mps2/console.h"
#include "mqota/qemu_mps2/memory_flash.h"
#include "mqota/qemu_mps2/stack.h"
#include "trusted_key.h"

namespace {

using namespace mqota;
using qemu_mps2::ConsoleWrite;
using qemu_mps2::ConsoleWriteDec;

constexpr int kNoBootableImageStatus = 3;

void WriteVersion(const image::ImageVersion& version) {
  std::array<char, image::kVersionTextBytes> text{};
  image::FormatVersion(version, text);
  ConsoleWrite(text.data());
}

void ReportOutcome(const boot::BootOutcome& outcome) {
  ConsoleWrite("mqota-boot: swap ");
  ConsoleWrite(boot::Describe(outcome.swap));
  ConsoleWrite(outcome.resumed ? " (resumed)\n" : "\n");
  if (outcome.rejected != boot::RejectReason::kNone) {
    ConsoleWrite("mqota-boot: rejected ");
    ConsoleWrite(boot::Describe(outcome.rejected));
    if (outcome.rejected == boot::RejectReason::kInvalid) {
      ConsoleWrite(": ");
      ConsoleWrite(image::Describe(outcome.image_error.code));
      ConsoleWrite(" (offset ");
      ConsoleWriteDec(outcome.image_error.offset);
      ConsoleWrite(")");
    }
    ConsoleWrite("\n");
  }
  ConsoleWrite("mqota-boot: booting ");
  WriteVersion(outcome.layout.header.version);
  ConsoleWrite(outcome.confirmed ? " (confirmed)\n" : " (on trial)\n");
}

// Hands the CPU to the image: its vector table becomes the active one (VTOR),
// MSP takes its initial stack pointer, and its reset handler runs. Nothing of
// the bootloader survives: no interrupt was enabled, no peripheral but the
// UART (which the app initialises again) was touched.
[[noreturn]] void JumpToImage(uintptr_t vector_table) {
  constexpr uintptr_t kVtor = 0xE000ED08;
  const auto* vectors = reinterpret_cast<const uint32_t*>(vector_table);
  *reinterpret_cast<volatile uint32_t*>(kVtor) = static_cast<uint32_t>(vector_table);
  asm volatile(
      "dsb\n"
      "isb\n"
      "msr msp, %0\n"
      "bx %1\n"
      :
      : "r"(vectors[0]), "r"(vectors[1])
      : "memory");
  __builtin_unreachable();
}

}  // namespace

int main() {
  qemu_mps2::MemoryFlash chip(qemu_mps2::board::kGeometry, qemu_mps2::board::kFlashBase);
  const flash::FlashArea primary(chip, qemu_mps2::board::kPrimaryOffset,
                                 qemu_mps2::board::kSlotBytes);
  const flash::FlashArea secondary(chip, qemu_mps2::board::kSecondaryOffset,
                                   qemu_mps2::board::kSlotBytes);
  const flash::FlashArea scratch(chip, qemu_mps2::board::kScratchOffset,
                                 qemu_mps2::board::kScratchBytes);
  boot::SwapScratch algorithm;
  ports::MbedtlsCrypto crypto;
  const image::TrustedKey keys[] = {
      {image::SignatureType::kEcdsaP256, mqota::qemu_mps2::boot_key::kTrustedKeyDer}};

  boot::BootConfig config{
      boot::SwapContext{primary, secondary, &scratch, qemu_mps2::board::kTrailer, 0},
      &algorithm,
      &crypto,
      keys,
  };
  const boot::BootResult<boot::BootOutcome> outcome = boot::Boot(config);
  if (!outcome.ok()) {
    ConsoleWrite("mqota-boot: no bootable image: ");
    ConsoleWrite(boot::Describe(outcome.error().code));
    if (outcome.error().code == boot::BootErrc::kNoBootableImage) {
      ConsoleWrite(": ");
      ConsoleWrite(image::Describe(outcome.error().image.code));
    }
    ConsoleWrite("\n");
    return kNoBootableImageStatus;
  }
  ReportOutcome(*outcome);
  ConsoleWrite("mqota-boot: stack ");
  ConsoleWriteDec(qemu_mps2::StackUsedBytes());
  ConsoleWrite("\n");
  JumpToImage(qemu_mps2::board::kPrimaryAddress + outcome->layout.header.hdr_size);
}
