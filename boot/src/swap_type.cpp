#include "mqota/boot/swap_type.h"

namespace mqota::boot {
namespace {

bool Matches(Want want, MagicState magic) {
  return want == Want::kAny || (want == Want::kGood && magic == MagicState::kGood) ||
         (want == Want::kUnset && magic == MagicState::kUnset);
}

bool Matches(Want want, FlagState flag) {
  return want == Want::kAny || (want == Want::kSet && flag == FlagState::kSet) ||
         (want == Want::kUnset && flag == FlagState::kUnset);
}

}  // namespace

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

const char* Describe(Want want) {
  switch (want) {
    case Want::kAny: return "any";
    case Want::kUnset: return "UNSET";
    case Want::kSet: return "SET";
    case Want::kGood: return "GOOD";
  }
  return "?";
}

}  // namespace mqota::boot
