#include "mqota/flash/flash_map.h"

namespace mqota::flash {
namespace {

constexpr AreaId kAllAreas[kAreaCount] = {AreaId::kBoot, AreaId::kPrimary, AreaId::kSecondary,
                                          AreaId::kScratch};

bool Overlap(const FlashArea& a, const FlashArea& b) {
  if (&a.device() != &b.device()) return false;
  const uint64_t a_end = uint64_t{a.offset_bytes()} + a.size_bytes();
  const uint64_t b_end = uint64_t{b.offset_bytes()} + b.size_bytes();
  return a.offset_bytes() < b_end && b.offset_bytes() < a_end;
}

Result<void, FlashMapError> CheckArea(AreaId id, const FlashArea& area) {
  if (area.size_bytes() == 0) return FlashMapError{FlashMapErrc::kEmptyArea, id, id};
  if (uint64_t{area.offset_bytes()} + area.size_bytes() > area.device().size_bytes()) {
    return FlashMapError{FlashMapErrc::kOutOfDevice, id, id};
  }
  if (!area.IsValid()) return FlashMapError{FlashMapErrc::kNotSectorAligned, id, id};
  return {};
}

}  // namespace

const char* AreaName(AreaId id) {
  switch (id) {
    case AreaId::kBoot: return "boot";
    case AreaId::kPrimary: return "primary";
    case AreaId::kSecondary: return "secondary";
    case AreaId::kScratch: return "scratch";
  }
  return "unknown";
}

const char* Describe(FlashMapErrc code) {
  switch (code) {
    case FlashMapErrc::kMissingArea:
      return "a required flash area (primary or secondary) is missing";
    case FlashMapErrc::kEmptyArea: return "a flash area has size 0";
    case FlashMapErrc::kOutOfDevice: return "a flash area reaches past the end of its device";
    case FlashMapErrc::kNotSectorAligned:
      return "a flash area does not start and end on sector boundaries";
    case FlashMapErrc::kOverlap: return "two flash areas on the same device overlap";
  }
  return "unknown flash map error";
}

Result<void, FlashMapError> FlashMap::Validate() const {
  for (AreaId required : {AreaId::kPrimary, AreaId::kSecondary}) {
    if (Find(required) == nullptr) {
      return FlashMapError{FlashMapErrc::kMissingArea, required, required};
    }
  }
  for (AreaId id : kAllAreas) {
    if (const FlashArea* area = Find(id)) MQOTA_TRY(CheckArea(id, *area));
  }
  for (size_t i = 0; i < kAreaCount; ++i) {
    const FlashArea* a = Find(kAllAreas[i]);
    for (size_t j = i + 1; a != nullptr && j < kAreaCount; ++j) {
      const FlashArea* b = Find(kAllAreas[j]);
      if (b != nullptr && Overlap(*a, *b)) {
        return FlashMapError{FlashMapErrc::kOverlap, kAllAreas[i], kAllAreas[j]};
      }
    }
  }
  return {};
}

}  // namespace mqota::flash
