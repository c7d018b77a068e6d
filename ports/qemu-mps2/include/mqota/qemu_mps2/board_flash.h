// The flash map of the emulated board, shared by the bootloader
// (ports/qemu-mps2/boot) and the application it boots (ports/qemu-mps2/app),
// as MCUboot's flash_map is shared by the bootloader and the app:
//
//   0x00000000  256 KiB  the bootloader (mps2-an386.ld: FLASH, code memory)
//   0x21000000  128 KiB  primary slot: the running image, header first; the
//                        app's vector table at +0x400 (imgtool -H 0x400)
//   0x21020000  128 KiB  secondary slot: the update
//   0x21040000    4 KiB  scratch (swap-scratch)
//   0x21041000    8 KiB  the agent's download journal (agent/download_store.h:
//                        two halves of a sector each; the bootloader never
//                        reads it)
//
// One flash device of 67 sectors of 4 KiB, program unit 8 bytes, erased 0xFF.
// It lives in the board's 16 MiB PSRAM, the machine's RAM backend, because
// that is the one memory QEMU 7.2 lets a file back
// (`-object memory-backend-file,...,share=on -machine memory-backend=...`):
// QEMU reloads `-kernel`/`-device loader` images at every system reset, but
// leaves the PSRAM alone, so a reset or a second QEMU run sees what the
// firmware wrote (ports/qemu-mps2/README.md#a-flash-that-survives-a-reset).
// The memory is RAM, so MemoryFlash keeps the chip's rules (see its header).
#pragma once

#include <cstdint>

#include "mqota/boot/trailer_format.h"
#include "mqota/flash/flash_device.h"

namespace mqota::qemu_mps2::board {

inline constexpr uintptr_t kFlashBase = 0x21000000;
inline constexpr uint32_t kSectorBytes = 4096;
inline constexpr uint32_t kSlotSectors = 32;
inline constexpr uint32_t kSlotBytes = kSlotSectors * kSectorBytes;
inline constexpr uint32_t kPrimaryOffset = 0;
inline constexpr uint32_t kSecondaryOffset = kSlotBytes;
inline constexpr uint32_t kScratchOffset = 2 * kSlotBytes;
inline constexpr uint32_t kScratchBytes = kSectorBytes;
inline constexpr uint32_t kJournalOffset = kScratchOffset + kScratchBytes;
inline constexpr uint32_t kJournalBytes = 2 * kSectorBytes;
inline constexpr uint32_t kChipSectors = 2 * kSlotSectors + 1 + 2;

inline constexpr flash::SectorRun kSectors[] = {{kChipSectors, kSectorBytes}};
inline constexpr flash::FlashGeometry kGeometry{kSectors, 8, 0xFF};
// W = the program unit, M = 8, one status entry set per slot sector.
inline constexpr boot::TrailerGeometry kTrailer{8, 8, kSlotSectors};

// Where the running image's header starts, and its vector table (the image
// header's size, as the build signs it: -H 0x400).
inline constexpr uintptr_t kPrimaryAddress = kFlashBase + kPrimaryOffset;
inline constexpr uint32_t kImageHeaderBytes = 0x400;

}  // namespace mqota::qemu_mps2::board
