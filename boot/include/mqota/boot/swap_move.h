// Swap using move: MCUboot's scratch-less swap
// (docs/spec/mcuboot-trailer.md#swap-using-move).
//
// The primary slot keeps one spare sector above the image. The old image is
// first moved up by one sector (highest sector first), which frees primary
// sector 0; then, sector by sector from the bottom, the new image's sector i-1
// goes into the primary's freed sector i-1 and the old sector (now at primary
// i) goes into the secondary's sector i-1. Every step ends with one status
// entry in the primary trailer, so a resume redoes at most the interrupted
// step.
//
// Requirements checked by IsCompatible: uniform sectors of one size in both
// slots, the primary with as many sectors as the secondary or one more (one
// more is what the maximum image size assumes), at most trailer.max_sectors of
// them, both trailers usable. The status log of the primary trailer is split:
// max_sectors one-entry "move" records, then max_sectors two-entry "swap"
// records; the last non-erased entry tells where the swap stands.
//
// Torn operations (a cut inside a write or erase, beyond upstream;
// docs/spec/mcuboot-trailer.md#torn-operations):
// - A status entry or copy_done counts as written when any byte of its W-byte
//   cell is, so a torn write whose first byte still reads erased is never
//   written again (it would program unerased bytes).
// - A torn copy_done (its cell written but not SET, the log complete) is
//   repaired: a "repair record" goes into the secondary trailer, which a
//   finished swap leaves erased and which holds no image bytes (swap_info,
//   swap_size, copy_done SET, magic left erased, so the swap table sees no
//   request), then the primary trailer sector is erased and rewritten in the
//   end state, then the record is erased. Resume() looks for the record
//   first. TEST keeps its trial.
// - Limit: a torn write that leaves every byte of its cell reading erased
//   cannot be told from an untouched cell by reading, and is written again.
//   Under NorFlashModel's kRandom that is 1 in 256^W torn writes (W = 8:
//   never in practice; W = 1: 1 in 256); on NOR flash without ECC such a
//   re-program is normally harmless, but the model refuses it.
#pragma once

#include <cstdint>

#include "mqota/boot/swap_algorithm.h"

namespace mqota::boot {

class SwapMove final : public SwapAlgorithm {
 public:
  const char* name() const override { return "swap-move"; }

  bool IsCompatible(const SwapContext& context) const override;

  // min(Npri*S - align_up(trailer, S) - S, Nsec*S - align_up(trailer, S)):
  // the image moved up by one sector must stay below the primary's trailer
  // sectors, and the image must not reach the secondary's
  // (docs/spec/mcuboot-trailer.md#maximum-image-size). 0 when the layout is
  // incompatible.
  uint32_t MaxImageSize(const SwapContext& context) const override;

  // The status source is the primary trailer when its magic is GOOD, its
  // copy_done UNSET and the secondary magic is not GOOD; otherwise nothing is
  // in progress. With a source and an empty log the swap was initialised but
  // nothing moved: kRestartNeeded with the recorded type and size. A repair
  // of a torn copy_done (see above) is finished first and reported as
  // kCompleted with the swap's type.
  BootResult<ResumeResult> Resume(const SwapContext& context) override;

  // Starts a swap, or restarts the one the primary trailer records (after
  // kRestartNeeded the recorded type and size govern: they are what a resume
  // would use after a cut). If the primary trailer records a swap that already
  // made progress, that swap is finished instead. Refuses (kBadGeometry, nothing
  // written) an incompatible layout or a copy_size the moved-up image cannot
  // hold. A REVERT whose source image is gone (secondary header magic erased)
  // is not swapped: the stuck revert is cleared (ClearStuckRevert) and Swap
  // returns success, leaving the running image to boot as confirmed.
  BootStatus Swap(const SwapContext& context, SwapType type, uint32_t copy_size) override;

  // MCUboot 33094fc5
  // (docs/spec/mcuboot-trailer.md#rule-8-never-leave-a-request-that-cannot-complete):
  // when the swap table asks for a REVERT but the secondary slot's header
  // magic is erased, the revert can never run and, left alone, blocks every
  // later update. Erases the secondary trailer,
  // then the primary trailer (each last sector first); returns whether it did.
  // The bootloader calls this when its validation of the secondary finds no
  // image for a REVERT; Swap(kRevert) also calls it as a last guard.
  BootResult<bool> ClearStuckRevert(const SwapContext& context) const;
};

}  // namespace mqota::boot
