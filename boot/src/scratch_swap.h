// One swap-scratch run over the regions of a Plan, from a number of logged
// steps to the canonical end state, and the repair of a torn copy_done.
// SwapScratch::Swap runs it from the start, Resume() from what the status
// source shows (swap_scratch.h has the algorithm). Private to swap-scratch.
#pragma once

#include <cstdint>

#include "mqota/boot/swap_algorithm.h"
#include "mqota/boot/trailer.h"
#include "scratch_plan.h"

namespace mqota::boot {

class ScratchSwap {
 public:
  ScratchSwap(const SwapContext& context, SwapType type, uint32_t swap_size, bool carry_image_ok)
      : context_(context),
        plan_(context, swap_size),
        primary_(context.primary, context.trailer),
        secondary_(context.secondary, context.trailer),
        scratch_(*context.scratch, ScratchGeometry(context.trailer)),
        type_(type),
        swap_size_(swap_size),
        carry_image_ok_(carry_image_ok) {}

  const Plan& plan() const { return plan_; }

  // `steps_done` log entries are written: (idx - 1) * 3 + state completed.
  BootStatus Run(uint32_t steps_done);

  // A copy_done write torn by a power cut (docs/spec/mcuboot-trailer.md#torn-operations) leaves a
  // cell that reads neither UNSET nor SET, or UNSET over programmed bytes. Nothing can be written
  // there again before the primary trailer sectors are erased, and while they are erased the swap
  // table would read "nothing pending, confirmed" (wrong for a TEST). So the finished swap is first
  // recorded in the scratch, which a finished swap no longer needs: the bytes the swap left in the
  // primary's trailer sectors below the trailer (the trailer region's image tail), then swap_info,
  // swap_size and copy_done SET, copy_done last, the scratch magic left erased. That "repair
  // record" is unlike any scratch trailer a swap writes (those have a GOOD magic and never a
  // copy_done), and Resume() looks for it before anything else.
  // A cut before copy_done lands leaves no record: the primary still shows
  // its torn copy_done and the repair starts over (the scratch is erased
  // first). From the record on, CompleteRepair() redoes the rest.
  BootStatus RepairTornFinish();

  // With the repair record in place: erase the primary trailer sectors (last
  // first), put the image tail back, write the end-state trailer with the
  // magic last, then erase the record (last sector first). Until the magic
  // lands the primary reads "no trailer" or a BAD magic, and the record makes
  // the next boot redo this from the scratch bytes, which nothing here
  // touches. Once the primary reads GOOD with copy_done SET, Resume() only
  // erases the record again: the scratch bytes are never read after that, so
  // an erase of the record torn in its middle cannot bring stale bytes back.
  BootStatus CompleteRepair();

 private:
  BootStatus SwapRegion(const Region& region, uint32_t first_step, uint32_t state);
  bool PrimaryImageOk() const;
  bool WantsImageOk() const;
  BootStatus InitTrailer(const Trailer& trailer, bool image_ok);
  BootStatus RebuildPrimaryTrailer();
  BootStatus Finish();
  BootStatus Log(uint32_t step, bool in_scratch);
  BootStatus EraseScratchFor(uint32_t bytes);
  static BootStatus EraseRange(const flash::FlashArea& area, uint32_t offset, uint32_t bytes);
  static BootStatus Copy(const flash::FlashArea& from, uint32_t from_offset,
                         const flash::FlashArea& to, uint32_t to_offset, uint32_t bytes);

  const SwapContext& context_;
  Plan plan_;
  Trailer primary_;
  Trailer secondary_;
  Trailer scratch_;
  SwapType type_;
  uint32_t swap_size_;
  bool carry_image_ok_;
};

}  // namespace mqota::boot
