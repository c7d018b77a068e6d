// What a boot must do, decided from the two trailers: MCUboot's swap-type
// table (docs/spec/mcuboot-trailer.md#swap-type-decision), kept as data so
// tests and docs print the same table the code runs.
#pragma once

#include <cstddef>
#include <span>

#include "mqota/boot/trailer.h"
#include "mqota/boot/trailer_match.h"

namespace mqota::boot {

struct SwapTableRow {
  Want primary_magic;
  Want primary_image_ok;
  Want primary_copy_done;
  Want secondary_magic;
  Want secondary_image_ok;
  SwapType result;
};

// The rows, first match wins; no match means SwapType::kNone. Row 3 accepts
// any secondary trailer: a completed but unconfirmed upgrade must revert
// whatever a cut left in the secondary (MCUboot 4f393563,
// docs/spec/mcuboot-trailer.md#rule-2-an-unconfirmed-upgrade-always-reverts).
inline constexpr SwapTableRow kSwapTable[] = {
    {Want::kAny, Want::kAny, Want::kAny, Want::kGood, Want::kUnset, SwapType::kTest},
    {Want::kAny, Want::kAny, Want::kAny, Want::kGood, Want::kSet, SwapType::kPerm},
    {Want::kGood, Want::kUnset, Want::kSet, Want::kAny, Want::kAny, SwapType::kRevert},
};

SwapType DecideSwapType(const TrailerState& primary, const TrailerState& secondary);

// TEST, PERM or REVERT: the types that exchange the images (kNone and kFail
// move nothing), the only ones a swap algorithm runs or records.
constexpr bool IsSwap(SwapType type) {
  return type == SwapType::kTest || type == SwapType::kPerm || type == SwapType::kRevert;
}

const char* Describe(SwapType type);

}  // namespace mqota::boot
