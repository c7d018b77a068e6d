// Swap using offset: MCUboot's newest scratch-less swap, its preferred one
// (docs/spec/mcuboot-trailer.md#swap-using-offset).
//
// The secondary slot keeps one spare sector BELOW the update: the application
// writes the new image one sector into the secondary slot. Sector by sector
// from the bottom, the old image's sector i goes into the secondary's sector
// i (the spare one, or one whose content already went up), then the new
// image's sector, at secondary i+1, goes into the primary's sector i. Each
// slot sector is erased once per swap (swap-move erases the primary's twice),
// and the old image ends at offset 0 of the secondary. A revert runs the same
// steps mirrored, from the top: the trial image goes back to secondary i+1,
// the old one from secondary i to primary i, so the trial image ends one
// sector in again and secondary sector 0 is erased. Each half-step ends with
// one status entry in the primary trailer (two per sector), so a resume
// redoes at most the interrupted half.
//
// Requirements checked by IsCompatible: uniform sectors of one size in both
// slots, the secondary with as many sectors as the primary or one more (one
// more is the layout without waste), at most trailer.max_sectors primary
// sectors, both trailers usable.
//
// A revert starts by writing a revert record into the secondary trailer
// (swap_info REVERT, swap_size, magic last; MCUboot marks its record with
// copy_done instead, which mqota keeps for its repair record): a cut while
// the primary trailer is re-initialised then restarts the revert, with its
// own direction, and not an upgrade. Torn operations are handled as in
// swap_move.h (status entries and copy_done count as written when any byte of
// their cell is; a torn copy_done is repaired through a record in the
// secondary trailer), with the same W = 1 limit.
#pragma once

#include <cstdint>

#include "mqota/boot/swap_algorithm.h"

namespace mqota::boot {

class SwapOffset final : public SwapAlgorithm {
 public:
  const char* name() const override { return "swap-offset"; }

  bool IsCompatible(const SwapContext& context) const override;

  // min(Npri*S - align_up(trailer, S), Nsec*S - align_up(trailer, S) - S):
  // the image must stay below the primary's trailer sectors, and one sector
  // in, below the secondary's (docs/spec/mcuboot-trailer.md#maximum-image-size).
  // 0 when the layout is incompatible.
  uint32_t MaxImageSize(const SwapContext& context) const override;

  // The status source is the primary trailer when its magic is GOOD, its
  // copy_done UNSET and the secondary magic is not GOOD. A revert record in the
  // secondary (a revert that had not yet handed over to the primary trailer)
  // is kRestartNeeded for a REVERT; a source with an empty log is
  // kRestartNeeded with the recorded type and size. A repair of a torn
  // copy_done is finished first and reported as kCompleted.
  BootResult<ResumeResult> Resume(const SwapContext& context) override;

  // Starts a swap, or continues the one the primary trailer records. Refuses
  // (kBadGeometry, nothing written) an incompatible layout or a copy_size that
  // does not fit. A REVERT whose source image is gone (secondary header magic
  // at offset 0 erased) is not swapped: the stuck revert is cleared
  // (ClearStuckRevert) and Swap returns success.
  BootStatus Swap(const SwapContext& context, SwapType type, uint32_t copy_size) override;

  // TEST and PERM install the image one sector in; a REVERT the one at 0.
  uint32_t SourceOffset(const SwapContext& context, SwapType type) const override;
  // The other way round: TEST and PERM leave the old image at 0, a REVERT
  // leaves the trial image one sector in.
  uint32_t MovedOutOffset(const SwapContext& context, SwapType type) const override;

  // As SwapMove::ClearStuckRevert: a REVERT with no image at the secondary's
  // offset 0 erases the secondary trailer, then the primary's; returns
  // whether it did.
  BootResult<bool> ClearStuckRevert(const SwapContext& context) const;
};

}  // namespace mqota::boot
