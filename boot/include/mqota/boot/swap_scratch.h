// Swap using scratch: MCUboot's default upgrade algorithm
// (docs/spec/mcuboot-trailer.md#swap-using-scratch). The two slots exchange
// their contents region by region, highest region first, through a scratch
// area; a region is as many consecutive slot sectors as fit in the scratch.
// Each region takes three logged steps:
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
//   and REVERT swaps, so a TEST swap always ends unconfirmed. A REVERT's
//   image_ok is written with the primary trailer's fields, before its magic,
//   not at the end: the same write count, and no flag but copy_done is ever
//   written into a finished (GOOD) trailer.
//
// Torn operations (a cut inside a write or erase, beyond upstream;
// docs/spec/mcuboot-trailer.md#torn-operations):
// - A status entry or copy_done counts as written when any byte of its W-byte
//   cell is, so a torn write whose first byte still reads erased is never
//   written again (it would program unerased bytes).
// - A torn copy_done (its cell written but not SET) is repaired: a "repair
//   record" goes into the scratch (the image tail of the trailer sectors,
//   swap_info, swap_size, copy_done SET, magic left erased), then the primary
//   trailer sectors are erased and rewritten in the end state, then the record
//   is erased. Resume() looks for the record first. TEST keeps its trial.
// - The scratch trailer erase ending the trailer region's state 2, torn in the
//   middle of a sector, can leave the scratch magic alive over half-erased
//   data: Resume() follows the primary instead when it reads GOOD, unfinished,
//   with that region's state-2 entry logged, and redoes the erase.
// - Limit: a torn write that leaves every byte of its cell reading erased
//   cannot be told from an untouched cell by reading, and is written again.
//   Under NorFlashModel's kRandom that is 1 in 256^W torn writes (W = 8:
//   never in practice; W = 1: 1 in 256); on NOR flash without ECC such a
//   re-program is normally harmless, but the model refuses it.
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
  // sector with the image (docs/spec/mcuboot-trailer.md#maximum-image-size).
  // 0 when incompatible.
  uint32_t MaxImageSize(const SwapContext& context) const override;
  // Also finishes a repair of a torn copy_done (see above), reported as
  // kCompleted with the swap's type.
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
