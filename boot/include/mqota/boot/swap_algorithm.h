// The contract every upgrade algorithm implements (swap using scratch, swap
// using move, overwrite-only), as MCUboot's swap_scratch.c / swap_move.c
// implement swap_priv.h. The bootloader (bootloader.h) decides WHAT to do
// (swap type, validation, downgrade policy); an algorithm knows HOW to move
// the bytes so that a power cut at any moment is recovered by Resume().
//
// Rules for implementations (docs/spec/mcuboot-trailer.md#upgrade-algorithms,
// docs/spec/mcuboot-trailer.md#power-loss-rules):
// - Never write a byte that has not been erased since it was last written.
// - Record progress in the trailers' status log so Resume() can continue from
//   the step that was interrupted, redoing at most that step.
// - Finish with the primary trailer in its canonical end state
//   (docs/spec/mcuboot-trailer.md#end-state): magic GOOD, swap_info = type,
//   copy_done SET, image_ok SET for PERM and REVERT (written before copy_done,
//   docs/spec/mcuboot-trailer.md#rule-7-image_ok-before-copy_done), UNSET for
//   TEST; the secondary trailer erased (magic UNSET), so the app can stage the
//   next image.
// - Touch only sectors that hold image data (copy_size) plus trailer sectors.
// - No heap, no exceptions; buffers on the stack (a copy buffer of at most
//   kCopyBufferBytes), so the bootloader's stack need is known.
#pragma once

#include <cstdint>

#include "mqota/boot/error.h"
#include "mqota/boot/trailer.h"
#include "mqota/flash/flash_area.h"

namespace mqota::boot {

// Copies go through a buffer of this size (MCUboot: 1024), so a sector copy
// costs sector_size / kCopyBufferBytes write calls.
inline constexpr uint32_t kCopyBufferBytes = 1024;

struct SwapContext {
  const flash::FlashArea& primary;
  const flash::FlashArea& secondary;
  // Required by swap-scratch only.
  const flash::FlashArea* scratch = nullptr;
  // Trailer layout, the same for every area (W = the devices' write size).
  TrailerGeometry trailer;
  uint8_t image_index = 0;
};

enum class ResumeKind : uint8_t {
  kNothingInProgress,  // no swap was interrupted: decide from the swap table
  kCompleted,          // an interrupted swap was found and has now been finished
  kRestartNeeded,      // a swap was initialised but moved nothing yet: the
                       // bootloader re-validates the secondary, then calls
                       // Swap(type, swap_size) to start it over
};

struct ResumeResult {
  ResumeKind kind = ResumeKind::kNothingInProgress;
  SwapType type = SwapType::kNone;  // of the swap completed or to restart
  uint32_t swap_size = 0;           // bytes it moves (as recorded in the trailer)
};

class SwapAlgorithm {
 public:
  // Short name for logs and benchmarks: "swap-scratch", "swap-move", ...
  virtual const char* name() const = 0;

  // Whether the areas allow this algorithm (sector layouts, scratch size,
  // sector counts within trailer.max_sectors). A bootloader with an
  // incompatible layout boots the primary and never swaps.
  virtual bool IsCompatible(const SwapContext& context) const = 0;

  // Largest image (header + payload + TLVs) this algorithm can move with these
  // areas; the bootloader refuses larger images before any swap starts.
  virtual uint32_t MaxImageSize(const SwapContext& context) const = 0;

  // Looks for an interrupted swap in the trailers and status logs; when one
  // is in progress, finishes it (including the final flags).
  virtual BootResult<ResumeResult> Resume(const SwapContext& context) = 0;

  // Performs a swap of `type` (kTest, kPerm or kRevert) moving `copy_size`
  // bytes (the larger of the two images' lengths), from start to the
  // canonical end state. Also called to start over after kRestartNeeded: it
  // must then cope with trailers that an earlier start already initialised.
  virtual BootStatus Swap(const SwapContext& context, SwapType type, uint32_t copy_size) = 0;

  // Where in the secondary slot the image that a swap of `type` installs
  // starts (the bootloader validates it there), and where the image it moves
  // out of the primary starts once it is done. 0 for every algorithm but
  // swap-offset, whose update sits one sector in and whose revert finds the
  // old image at 0 (docs/spec/mcuboot-trailer.md#swap-using-offset).
  virtual uint32_t SourceOffset(const SwapContext& /*context*/, SwapType /*type*/) const {
    return 0;
  }
  virtual uint32_t MovedOutOffset(const SwapContext& /*context*/, SwapType /*type*/) const {
    return 0;
  }

 protected:
  ~SwapAlgorithm() = default;
};

}  // namespace mqota::boot
