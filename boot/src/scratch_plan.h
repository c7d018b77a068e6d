// The geometry of a swap-scratch swap: the scratch trailer's shape, the
// largest image the areas allow, and the Plan of regions that both a swap
// and a resume after any reset derive from the areas and the recorded size
// alone (swap_scratch.h has the algorithm). Private to swap-scratch.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>

#include "mqota/boot/swap_algorithm.h"
#include "mqota/boot/trailer_format.h"

namespace mqota::boot {

// Each region is exchanged in three logged steps (states 0, 1 and 2).
inline constexpr uint32_t kStatesPerRegion = 3;

// The scratch carries the slot trailer's fields but a single status triple:
// only the region that holds the slot trailer logs there
// (docs/spec/mcuboot-trailer.md#trailer-size).
constexpr TrailerGeometry ScratchGeometry(const TrailerGeometry& slot) {
  return TrailerGeometry{slot.write_size, slot.max_align, 1};
}

// Offset of the first slot sector holding trailer bytes (layout checked).
uint32_t FirstTrailerSectorOffset(const flash::FlashArea& slot, const TrailerGeometry& geometry);

// Largest image for areas whose sector layout was already checked.
uint32_t MaxImageBytes(const SwapContext& context);

// Consecutive slot sectors exchanged through the scratch in one three-step round.
struct Region {
  uint32_t first_sector;
  uint32_t offset;
  uint32_t size;
};

// Where every region of a swap of `swap_size` bytes lies. Derived from the
// areas and the recorded size alone, so Swap() and a Resume() after any reset
// agree on the region each log entry speaks of.
class Plan {
 public:
  Plan(const SwapContext& context, uint32_t swap_size)
      : slot_(context.primary),
        scratch_bytes_(context.scratch->size_bytes()),
        trailer_offset_(slot_.size_bytes() - context.trailer.trailer_bytes()),
        trailer_sector_offset_(FirstTrailerSectorOffset(slot_, context.trailer)),
        scratch_log_offset_(scratch_bytes_ - ScratchGeometry(context.trailer).trailer_bytes()) {
    const auto last = slot_.SectorContaining(swap_size - 1);
    last_sector_ = last ? last->index : 0;
  }

  // Highest region first: the one holding the trailer, if any, settles where
  // the log lives before anything else moves.
  Region First() const { return EndingAt(last_sector_); }
  std::optional<Region> Next(const Region& region) const {
    if (region.first_sector == 0) return std::nullopt;
    return EndingAt(region.first_sector - 1);
  }
  uint32_t Count() const {
    uint32_t count = 1;
    for (auto region = Next(First()); region; region = Next(*region)) ++count;
    return count;
  }

  // Only the first region can reach the trailer sectors: regions start at the
  // last sector holding data, which lies at or below the trailer's first sector.
  bool HoldsTrailer(const Region& region) const {
    return region.offset + region.size > trailer_sector_offset_;
  }
  // Bytes moved: the trailer region moves its image part; trailers are rebuilt.
  uint32_t CopyBytes(const Region& region) const {
    if (!HoldsTrailer(region)) return region.size;
    return std::min(trailer_offset_ - region.offset, scratch_log_offset_);
  }
  // Bytes of the region below the trailer sectors, which are erased on their own.
  uint32_t DataSectorBytes(const Region& region) const {
    return HoldsTrailer(region) ? trailer_sector_offset_ - region.offset : region.size;
  }
  uint32_t trailer_sector_offset() const { return trailer_sector_offset_; }
  // Bytes a finished swap left in the trailer sectors below the trailer: the
  // part of the trailer region's copy at or above the first trailer sector
  // (0 when the image stays below it: the swap erased those sectors whole).
  // At most the scratch's room below its trailer, like any region copy.
  uint32_t TrailerSectorDataBytes() const {
    const Region first = First();
    if (!HoldsTrailer(first)) return 0;
    const uint32_t end = first.offset + CopyBytes(first);
    return end > trailer_sector_offset_ ? end - trailer_sector_offset_ : 0;
  }

 private:
  Region EndingAt(uint32_t last_sector) const {
    Region region{last_sector + 1, 0, 0};
    for (uint32_t index = last_sector + 1; index > 0; --index) {
      const auto sector = slot_.SectorByIndex(index - 1);
      if (!sector || region.size + sector->size_bytes > scratch_bytes_) break;
      region = Region{sector->index, sector->offset_bytes, region.size + sector->size_bytes};
    }
    return region;
  }

  const flash::FlashArea& slot_;
  uint32_t scratch_bytes_;
  uint32_t trailer_offset_;
  uint32_t trailer_sector_offset_;
  uint32_t scratch_log_offset_;
  uint32_t last_sector_ = 0;
};

}  // namespace mqota::boot
