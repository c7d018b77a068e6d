#include "scratch_swap.h"

#include <algorithm>
#include <array>
#include <optional>
#include <span>

namespace mqota::boot {
namespace {

// The two scratch log cells (largest W) handed to the primary in one write.
constexpr uint32_t kMaxHandoverBytes = 2 * kMaxCellBytes;

}  // namespace

BootStatus ScratchSwap::Run(uint32_t steps_done) {
  uint32_t first_step = 0;
  for (std::optional<Region> region = plan_.First(); region; region = plan_.Next(*region)) {
    if (steps_done < first_step + kStatesPerRegion) {
      const uint32_t state = steps_done > first_step ? steps_done - first_step : 0;
      MQOTA_TRY(SwapRegion(*region, first_step, state));
    }
    first_step += kStatesPerRegion;
  }
  return Finish();
}

BootStatus ScratchSwap::SwapRegion(const Region& region, uint32_t first_step, uint32_t state) {
  const bool first = first_step == 0;
  // The region holding the slot trailer keeps its log in the scratch: the
  // primary trailer is erased in state 2 together with the region.
  const bool log_in_scratch = plan_.HoldsTrailer(region);
  const uint32_t copy_bytes = plan_.CopyBytes(region);
  const uint32_t data_bytes = plan_.DataSectorBytes(region);

  if (state == 0) {
    if (first) {
      // The scratch trailer records type and size before anything else is
      // touched: while its magic is GOOD and its log empty, a reset restarts
      // the swap, which may again erase and rebuild every trailer (a
      // restart redoes this set-up; nothing of value has moved yet).
      MQOTA_TRY(Check(scratch_.area().EraseAll()));
      MQOTA_TRY(InitTrailer(scratch_, carry_image_ok_));
      if (!log_in_scratch) {
        // The region leaves the trailer sectors alone, so the primary log
        // can be prepared now; the scratch magic still vouches for the swap
        // while the primary trailer is half built (its magic comes last).
        MQOTA_TRY(primary_.EraseSectors());
        MQOTA_TRY(InitTrailer(primary_, PrimaryImageOk()));
        // Now the primary is the status source; the scratch trailer must
        // go before the first entry lands in the primary log, or a reset
        // would read the empty scratch log and restart a swap under way.
        MQOTA_TRY(scratch_.EraseSectors());
      }
    } else {
      // The scratch holds the previous region's secondary copy, already
      // written to the primary (its state 2 is logged): free to reuse.
      MQOTA_TRY(EraseScratchFor(region.size));
    }
    MQOTA_TRY(Copy(context_.secondary, region.offset, *context_.scratch, 0, copy_bytes));
    MQOTA_TRY(Log(first_step, log_in_scratch));
  }

  if (state <= 1) {
    if (first) {
      // The secondary region's bytes are safe in the scratch (state 0 is
      // logged), so the request may go: from here a reset must resume from
      // the log, never see a pending request and start afresh.
      MQOTA_TRY(secondary_.EraseSectors());
    }
    // Redoing this step is safe: the scratch still holds the secondary
    // region and the primary region is untouched.
    MQOTA_TRY(EraseRange(context_.secondary, region.offset, data_bytes));
    MQOTA_TRY(Copy(context_.primary, region.offset, context_.secondary, region.offset, copy_bytes));
    MQOTA_TRY(Log(first_step + 1, log_in_scratch));
  }

  // The primary region now lives in the secondary and the secondary region
  // in the scratch (both logged): the primary region may be overwritten.
  if (log_in_scratch) MQOTA_TRY(primary_.EraseSectors());
  MQOTA_TRY(EraseRange(context_.primary, region.offset, data_bytes));
  MQOTA_TRY(Copy(*context_.scratch, 0, context_.primary, region.offset, copy_bytes));
  if (log_in_scratch) MQOTA_TRY(RebuildPrimaryTrailer());
  MQOTA_TRY(Log(first_step + 2, false));
  if (log_in_scratch) {
    // The primary trailer and log are complete, so the scratch one must
    // not be followed again. Last sector first: a reset mid-erase kills the
    // scratch magic before any data it would have the primary redo from.
    // A sector erase torn in its middle may leave the magic alive over
    // data it no longer vouches for: Resume() then sees the primary
    // trailer GOOD with this state-2 entry logged, and finishes this erase
    // instead of following the scratch (FollowPrimaryAfterStateTwo).
    MQOTA_TRY(scratch_.EraseSectors());
  }
  return {};
}

// The primary trailer carries image_ok for PERM (from the request) and for
// REVERT. A REVERT's image_ok is written here, before the magic, rather
// than at the end as upstream does: the same number of writes, but a write
// torn by a cut then only ever hits a trailer whose magic is not yet
// written, which the restart erases, never a finished trailer that could
// not be rewritten without an erase. The scratch trailer carries only the
// request's image_ok (its REVERT value comes from swap_info).
bool ScratchSwap::PrimaryImageOk() const { return carry_image_ok_ || type_ == SwapType::kRevert; }

// swap_info, image_ok, swap_size, then the magic: a trailer only reads GOOD
// once every field it vouches for is in place (docs/spec/mcuboot-trailer.md#rule-1-magic-last).
BootStatus ScratchSwap::InitTrailer(const Trailer& trailer, bool image_ok) {
  MQOTA_TRY(trailer.WriteSwapInfo(type_, context_.image_index));
  if (image_ok) MQOTA_TRY(trailer.WriteImageOk());
  MQOTA_TRY(trailer.WriteSwapSize(swap_size_));
  return trailer.WriteMagic();
}

// The trailer region's state 2: the primary trailer sectors were erased, so
// the two entries logged in the scratch move over in one write, then the
// fields, magic last. Until that magic and the next entry are written the
// scratch stays the status source and a reset redoes all of state 2.
BootStatus ScratchSwap::RebuildPrimaryTrailer() {
  const uint32_t bytes = 2 * context_.trailer.write_size;
  std::array<uint8_t, kMaxHandoverBytes> cells{};
  const auto span = std::span(cells).first(bytes);
  MQOTA_TRY(Check(context_.scratch->Read(scratch_.offset_bytes(), span)));
  MQOTA_TRY(Check(context_.primary.Write(primary_.offset_bytes(), span)));
  return InitTrailer(primary_, PrimaryImageOk());
}

// image_ok before copy_done: a reset between the two must not leave the
// "running an unconfirmed test" state, which would revert
// (docs/spec/mcuboot-trailer.md#rule-7-image_ok-before-copy_done). Each flag is written only while
// erased, so a resumed finish never writes a cell twice.
BootStatus ScratchSwap::Finish() {
  MQOTA_TRY_ASSIGN(const TrailerState state, primary_.Read());
  if (WantsImageOk() && state.image_ok == FlagState::kUnset) MQOTA_TRY(primary_.WriteImageOk());
  if (state.copy_done == FlagState::kUnset) MQOTA_TRY(primary_.WriteCopyDone());
  return {};
}

BootStatus ScratchSwap::RepairTornFinish() {
  const uint32_t tail = plan_.TrailerSectorDataBytes();
  MQOTA_TRY(Check(context_.scratch->EraseAll()));
  MQOTA_TRY(Copy(context_.primary, plan_.trailer_sector_offset(), *context_.scratch, 0, tail));
  MQOTA_TRY(scratch_.WriteSwapInfo(type_, context_.image_index));
  MQOTA_TRY(scratch_.WriteSwapSize(swap_size_));
  MQOTA_TRY(scratch_.WriteCopyDone());
  return CompleteRepair();
}

BootStatus ScratchSwap::CompleteRepair() {
  MQOTA_TRY(primary_.EraseSectors());
  MQOTA_TRY(Copy(*context_.scratch, 0, context_.primary, plan_.trailer_sector_offset(),
                 plan_.TrailerSectorDataBytes()));
  MQOTA_TRY(primary_.WriteSwapInfo(type_, context_.image_index));
  if (WantsImageOk()) MQOTA_TRY(primary_.WriteImageOk());
  MQOTA_TRY(primary_.WriteSwapSize(swap_size_));
  MQOTA_TRY(primary_.WriteCopyDone());
  MQOTA_TRY(primary_.WriteMagic());
  return scratch_.EraseSectors();
}

bool ScratchSwap::WantsImageOk() const {
  return type_ == SwapType::kPerm || type_ == SwapType::kRevert;
}

// The entry is written only after the step's last flash operation, so a
// written entry always means the step's data is complete.
BootStatus ScratchSwap::Log(uint32_t step, bool in_scratch) {
  const uint8_t value = static_cast<uint8_t>(step % kStatesPerRegion + 1);
  return (in_scratch ? scratch_ : primary_).WriteStatusEntry(step, value);
}

// Only the scratch sectors the region will use: less wear with a scratch
// larger than the region.
BootStatus ScratchSwap::EraseScratchFor(uint32_t bytes) {
  const auto last = context_.scratch->SectorContaining(bytes - 1);
  const uint32_t end =
      last ? last->offset_bytes + last->size_bytes : context_.scratch->size_bytes();
  return Check(context_.scratch->Erase(0, end));
}

BootStatus ScratchSwap::EraseRange(const flash::FlashArea& area, uint32_t offset, uint32_t bytes) {
  return bytes == 0 ? BootStatus{} : Check(area.Erase(offset, bytes));
}

BootStatus ScratchSwap::Copy(const flash::FlashArea& from, uint32_t from_offset,
                             const flash::FlashArea& to, uint32_t to_offset, uint32_t bytes) {
  // Filled by each Read before it is written out; zeroing it first would cost
  // a memset of the whole buffer per copy on the device, for nothing.
  std::array<uint8_t, kCopyBufferBytes> buffer;  // NOLINT(cppcoreguidelines-pro-type-member-init)
  for (uint32_t done = 0; done < bytes;) {
    const uint32_t chunk = std::min<uint32_t>(kCopyBufferBytes, bytes - done);
    const auto span = std::span(buffer).first(chunk);
    MQOTA_TRY(Check(from.Read(from_offset + done, span)));
    MQOTA_TRY(Check(to.Write(to_offset + done, span)));
    done += chunk;
  }
  return {};
}

}  // namespace mqota::boot
