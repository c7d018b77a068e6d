// Swap using scratch: MCUboot's default upgrade algorithm (spec/mcuboot.md
// §5.2). The two slots exchange their contents region by region, highest
// region first, through a scratch area; a region is as many consecutive slot
// sectors as fit in the scratch. Each region takes three logged steps:
//
//   state 0: secondary[region] -> scratch
//   state 1: primary[region]   -> secondary[region]
//   state 2: scratch           -> primary[region]
//
// so at every moment one copy of each byte survives a power cut, and the
// status log says which copy is current.
//
// Layout requirements (IsCompatible): both slots have the same sector sizes,
// sector by sector, and at most trailer.max_sectors of them; the scratch holds
// the largest sector and its own small trailer (one status triple and the
// info fields); all three areas share the write size and the erased value.
// The scratch may span several sectors and need not divide the slot.
//
// Deviations from upstream, none visible in the trailers' format:
// - The scratch is invalidated by erasing only the sectors of its trailer
//   (last first), and data steps erase only the scratch sectors a region
//   needs: the same operations on a one-sector scratch, less wear on a bigger
//   one.
// - A multi-sector region is erased with one call per area, not per sector.
// - image_ok is carried from the secondary into the new trailers only for PERM
//   and REVERT swaps, so a TEST swap always ends unconfirmed.
#pragma once

#include <cstdint>

#include "mqota/boot/swap_algorithm.h"

namespace mqota::boot {

class SwapScratch final : public SwapAlgorithm {
 public:
  const char* name() const override { return "swap-scratch"; }
  bool IsCompatible(const SwapContext& context) const override;
  // slot - trailer_bytes, minus the padding that keeps the image tail and the
  // scratch trailer apart when only a sliver of the slot trailer shares a
  // sector with the image (spec §3.6). 0 when incompatible.
  uint32_t MaxImageSize(const SwapContext& context) const override;
  // Errors: flash failures; kBadGeometry when the layout is incompatible or
  // the recorded swap_size cannot be swapped with it. A log that is not one
  // run of written entries (a status write failed) is followed up to its
  // first gap, as upstream does with primary validation on: the bootloader
  // must validate the primary after a resumed swap.
  BootResult<ResumeResult> Resume(const SwapContext& context) override;
  // Errors: flash failures; kBadGeometry when the layout is incompatible, the
  // type is not kTest/kPerm/kRevert, or copy_size is 0 or above MaxImageSize.
  BootStatus Swap(const SwapContext& context, SwapType type, uint32_t copy_size) override;
};

}  // namespace mqota::boot
