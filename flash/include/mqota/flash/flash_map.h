// FlashMap: the one place that names the flash areas of a board (design rule:
// one obvious place for each fact). The bootloader and the agent look areas up
// here by id; a board fills the map once at start-up and validates it.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>

#include "mqota/base/result.h"
#include "mqota/flash/flash_area.h"

namespace mqota::flash {

enum class AreaId : uint8_t { kBoot, kPrimary, kSecondary, kScratch };
inline constexpr size_t kAreaCount = 4;

// "boot", "primary", "secondary", "scratch" (as in logs and in MCUboot's docs).
const char* AreaName(AreaId id);

enum class FlashMapErrc : uint8_t {
  kMissingArea,       // a required area (primary, secondary) is not in the map
  kEmptyArea,         // an area of size 0
  kOutOfDevice,       // an area reaches past the end of its device
  kNotSectorAligned,  // an area does not start and end on sector boundaries of its device
  kOverlap,           // two areas on the same device share bytes
};

struct FlashMapError {
  FlashMapErrc code;
  AreaId area;
  AreaId other;  // the second area, for kOverlap; equal to `area` otherwise
};

const char* Describe(FlashMapErrc code);

class FlashMap {
 public:
  constexpr FlashMap() = default;

  // Adds or replaces the area named `id` (an id outside AreaId traps).
  constexpr void Set(AreaId id, const FlashArea& area) { areas_[CheckedIndex(id)] = area; }
  constexpr void Clear(AreaId id) { areas_[CheckedIndex(id)].reset(); }

  // nullptr when the map has no such area. The pointer stays valid as long as
  // the map does and the area is not replaced or cleared.
  constexpr FlashArea* Find(AreaId id) {
    const size_t index = static_cast<size_t>(id);
    return index < kAreaCount && areas_[index] ? &*areas_[index] : nullptr;
  }
  constexpr const FlashArea* Find(AreaId id) const {
    const size_t index = static_cast<size_t>(id);
    return index < kAreaCount && areas_[index] ? &*areas_[index] : nullptr;
  }

  // Checks, and reports the first failure in this order: primary and secondary
  // present (kMissingArea); each area, in AreaId order, non-empty, inside its
  // device, sector-aligned; no two areas on one device overlapping. A board
  // should refuse to boot on an invalid map rather than swap across overlapping
  // slots.
  Result<void, FlashMapError> Validate() const;

 private:
  static constexpr size_t CheckedIndex(AreaId id) {
    const size_t index = static_cast<size_t>(id);
    if (index >= kAreaCount) __builtin_trap();
    return index;
  }

  std::array<std::optional<FlashArea>, kAreaCount> areas_{};
};

}  // namespace mqota::flash
