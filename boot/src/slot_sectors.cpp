#include "slot_sectors.h"

#include <algorithm>
#include <array>
#include <span>

#include "mqota/boot/swap_algorithm.h"
#include "mqota/image/format.h"

namespace mqota::boot {

bool UniformSectors(const flash::FlashArea& area, uint32_t sector_bytes) {
  for (uint32_t i = 0; i < area.sector_count(); ++i) {
    const auto sector = area.SectorByIndex(i);
    if (!sector || sector->size_bytes != sector_bytes || sector->offset_bytes != i * sector_bytes) {
      return false;
    }
  }
  return true;
}

BootStatus CopyRegion(const flash::FlashArea& from, uint32_t from_offset,
                      const flash::FlashArea& to, uint32_t to_offset, uint32_t size_bytes) {
  // Filled by each Read before it is written out; zeroing it first would cost
  // a memset of the whole buffer per copy on the device, for nothing.
  std::array<uint8_t, kCopyBufferBytes> buffer;  // NOLINT(cppcoreguidelines-pro-type-member-init)
  for (uint32_t done = 0; done < size_bytes;) {
    const uint32_t chunk = std::min(kCopyBufferBytes, size_bytes - done);
    const auto part = std::span(buffer).first(chunk);
    MQOTA_TRY(Check(from.Read(from_offset + done, part)));
    MQOTA_TRY(Check(to.Write(to_offset + done, part)));
    done += chunk;
  }
  return {};
}

BootResult<bool> ImageHeaderErased(const flash::FlashArea& area, uint32_t offset) {
  std::array<uint8_t, sizeof(image::kImageMagic)> magic{};
  MQOTA_TRY(Check(area.Read(offset, magic)));
  const uint8_t erased = area.erased_value();
  return std::all_of(magic.begin(), magic.end(), [erased](uint8_t b) { return b == erased; });
}

}  // namespace mqota::boot
