// Sector-level helpers that swap-move and swap-offset share: both need slots
// of one uniform sector size, copy whole sectors through the bootloader's
// copy buffer, and tell an erased image header from a present one.
#pragma once

#include <cstdint>

#include "mqota/boot/error.h"
#include "mqota/flash/flash_area.h"

namespace mqota::boot {

// Every sector of `area` is `sector_bytes` long and where that size puts it.
bool UniformSectors(const flash::FlashArea& area, uint32_t sector_bytes);

// Copies `size_bytes` through a kCopyBufferBytes stack buffer: one write call
// per buffer-full. The destination must be erased.
BootStatus CopyRegion(const flash::FlashArea& from, uint32_t from_offset,
                      const flash::FlashArea& to, uint32_t to_offset, uint32_t size_bytes);

// Whether the image magic at `offset` of `area` reads erased: no image starts
// there (a revert whose source is gone).
BootResult<bool> ImageHeaderErased(const flash::FlashArea& area, uint32_t offset);

}  // namespace mqota::boot
