#include "mqota/boot/swap_type.h"

namespace mqota::boot {

SwapType DecideSwapType(const TrailerState& primary, const TrailerState& secondary) {
  for (const SwapTableRow& row : kSwapTable) {
    if (Matches(row.primary_magic, primary.magic) &&
        Matches(row.primary_image_ok, primary.image_ok) &&
        Matches(row.primary_copy_done, primary.copy_done) &&
        Matches(row.secondary_magic, secondary.magic) &&
        Matches(row.secondary_image_ok, secondary.image_ok)) {
      return row.result;
    }
  }
  return SwapType::kNone;
}

const char* Describe(SwapType type) {
  switch (type) {
    case SwapType::kNone: return "NONE";
    case SwapType::kTest: return "TEST";
    case SwapType::kPerm: return "PERM";
    case SwapType::kRevert: return "REVERT";
    case SwapType::kFail: return "FAIL";
  }
  return "?";
}

}  // namespace mqota::boot
