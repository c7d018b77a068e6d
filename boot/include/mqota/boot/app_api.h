// What the running application may do to the trailers, as MCUboot's bootutil
// offers it (docs/spec/mcuboot-trailer.md#application-requests): schedule the
// image in the secondary slot, confirm the running image, and read the swap
// state.
#pragma once

#include "mqota/boot/swap_type.h"
#include "mqota/boot/trailer.h"

namespace mqota::boot {

// Schedules the (already verified) image in the secondary slot: a test swap
// that reverts unless confirmed, or a permanent one. Writes, in this order,
// the magic, image_ok (permanent only), swap_info; a cut after the magic
// leaves a valid test request, a safe degradation of a permanent one.
// Magic already GOOD: nothing to do (already scheduled). Errors: kBadMagic
// when the secondary's magic is corrupt (erase the slot and download again),
// kFlash.
BootStatus SetPending(const Trailer& secondary, bool permanent, uint8_t image_index = 0);

// Confirms the running image so that the next boot does not revert it: writes
// the primary's image_ok when the magic is GOOD and image_ok is UNSET. Magic
// UNSET: nothing to do (an image flashed without a trailer is confirmed).
// Errors: kBadMagic, kFlash.
BootStatus SetConfirmed(const Trailer& primary);

struct SwapState {
  TrailerState primary;
  TrailerState secondary;
  // What the next boot will do, before it validates anything.
  SwapType next_boot{};
  // True when the running image would be reverted at the next boot.
  bool running_unconfirmed = false;
};

BootResult<SwapState> ReadSwapState(const Trailer& primary, const Trailer& secondary);

}  // namespace mqota::boot
