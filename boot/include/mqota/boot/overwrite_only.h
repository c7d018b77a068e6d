// Overwrite-only upgrades (docs/spec/mcuboot-trailer.md#overwrite-only): the
// secondary image is copied over the primary; there is no revert, so every
// request is permanent.
//
// No progress log is needed: the request (the secondary's trailer) is only
// removed after the copy is complete, so a cut at any moment leaves it in
// place and the next boot simply copies again from the start.
#pragma once

#include "mqota/boot/swap_algorithm.h"

namespace mqota::boot {

class OverwriteOnly final : public SwapAlgorithm {
 public:
  // fast: erase and copy only the sectors holding the image (plus the trailer
  // sectors), as MCUBOOT_OVERWRITE_ONLY_FAST; otherwise the whole slot.
  explicit OverwriteOnly(bool fast) : fast_(fast) {}

  const char* name() const override { return fast_ ? "overwrite-only-fast" : "overwrite-only"; }
  bool IsCompatible(const SwapContext& context) const override;
  uint32_t MaxImageSize(const SwapContext& context) const override;
  BootResult<ResumeResult> Resume(const SwapContext& context) override;
  BootStatus Swap(const SwapContext& context, SwapType type, uint32_t copy_size) override;

 private:
  bool fast_;
};

}  // namespace mqota::boot
