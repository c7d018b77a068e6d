// The virtual kit's flash map, shared by the board (its bootloader) and the
// firmware built for it (its agent), as a real board support package shares
// one flash map between MCUboot and the application. It follows the reference
// kit with USE_EXT_FLASH: the bootloader area and the primary slot in the
// MCU's internal flash, the secondary slot in an external QSPI NOR chip.
//
//   internal flash, 2 MiB:  [boot area 96 KiB][primary slot 1.75 MiB][scratch 16 KiB][free]
//   external flash, 4 MiB:  [secondary slot 1.75 MiB][download journal 8 KiB][free]
//
// Both chips: 4 KiB erase sectors, 8-byte program unit, erased to 0xFF (the
// reference's PSoC 6 rows are 512 bytes; uniform 4 KiB sectors let every
// swap algorithm run unchanged on both chips).
#pragma once

#include <array>
#include <cstdint>

#include "mqota/boot/trailer_format.h"
#include "mqota/flash/flash_device.h"

namespace mqota::board {

// The board name in topics and job documents (the reference's
// CY_TARGET_BOARD_STRING). A job for another board is refused.
inline constexpr char kBoardName[] = "MQOTA_VIRTUAL_BOARD";

inline constexpr uint32_t kSectorBytes = 4096;
inline constexpr uint32_t kWriteBytes = 8;
inline constexpr uint8_t kErasedValue = 0xff;

inline constexpr uint32_t kInternalFlashBytes = 2 * 1024 * 1024;
inline constexpr uint32_t kBootAreaBytes = 0x18000;  // where MCUboot lives on the kit
inline constexpr uint32_t kSlotBytes = 0x1c0000;
inline constexpr uint32_t kPrimaryOffset = kBootAreaBytes;
inline constexpr uint32_t kScratchOffset = kPrimaryOffset + kSlotBytes;
inline constexpr uint32_t kScratchBytes = 4 * kSectorBytes;  // wear spread over 4 sectors

inline constexpr uint32_t kExternalFlashBytes = 4 * 1024 * 1024;
inline constexpr uint32_t kSecondaryOffset = 0;
inline constexpr uint32_t kJournalOffset = kSecondaryOffset + kSlotBytes;
inline constexpr uint32_t kJournalBytes = 2 * kSectorBytes;

static_assert(kScratchOffset + kScratchBytes <= kInternalFlashBytes);
static_assert(kJournalOffset + kJournalBytes <= kExternalFlashBytes);

// The image header size the build signs with (imgtool -H 0x400, as the kit).
inline constexpr uint32_t kImageHeaderBytes = 0x400;

inline constexpr boot::TrailerGeometry kTrailer{kWriteBytes, 8, kSlotBytes / kSectorBytes};

inline constexpr std::array<flash::SectorRun, 1> kInternalSectors{
    {{kInternalFlashBytes / kSectorBytes, kSectorBytes}}};
inline constexpr std::array<flash::SectorRun, 1> kExternalSectors{
    {{kExternalFlashBytes / kSectorBytes, kSectorBytes}}};

inline flash::FlashGeometry InternalFlashGeometry() {
  return {kInternalSectors, kWriteBytes, kErasedValue};
}
inline flash::FlashGeometry ExternalFlashGeometry() {
  return {kExternalSectors, kWriteBytes, kErasedValue};
}

}  // namespace mqota::board
