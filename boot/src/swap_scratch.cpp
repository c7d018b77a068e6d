#include "mqota/boot/swap_scratch.h"

#include <optional>

#include "mqota/boot/swap_scratch_status.h"
#include "mqota/boot/swap_type.h"
#include "scratch_plan.h"
#include "scratch_swap.h"
#include "torn_cells.h"

namespace mqota::boot {
namespace {

constexpr BootError kBadGeometry{BootErrc::kBadGeometry, {}};

// With the scratch trailer GOOD for a swap whose first region holds the slot
// trailer: whether that region's state 2 already completed. State 2 rebuilds
// the primary trailer (entries 0 and 1 handed over, the fields, the magic
// last), then logs entry 2 in the primary, and only then erases the scratch
// trailer. So a primary trailer that reads GOOD, unfinished, for the same
// swap, with entry 2 written (even torn: it is the step's last write) means
// the scratch is stale: its bytes may even be half erased by a torn erase
// that left the magic, at the sector's end, alive.
BootResult<bool> FollowPrimaryAfterStateTwo(const Trailer& primary, const TrailerState& p,
                                            const TrailerState& scratch) {
  if (p.magic != MagicState::kGood || p.copy_done != FlagState::kUnset ||
      p.swap_type != scratch.swap_type || p.swap_size != scratch.swap_size) {
    return false;
  }
  return StatusEntryWritten(primary, kStatesPerRegion - 1);
}

// What Resume() found for one row of kScratchStatusTable: the swap's result,
// or nothing when the source holds no swap of this image after all and the
// next matching row is to be tried.
using Resumed = std::optional<ResumeResult>;
constexpr Resumed kTryNextRow{};

Resumed Completed(SwapType type, uint32_t swap_size) {
  return ResumeResult{ResumeKind::kCompleted, type, swap_size};
}

// Resume() from each status source of kScratchStatusTable, the primary and
// scratch trailers read once, before any row is tried.
class ScratchResume {
 public:
  static BootResult<ScratchResume> Read(const SwapContext& context) {
    ScratchResume resume(context);
    MQOTA_TRY_ASSIGN(resume.primary_state_, resume.primary_.Read());
    MQOTA_TRY_ASSIGN(resume.scratch_state_, resume.scratch_.Read());
    return resume;
  }

  bool Matches(const StatusSourceRow& row) const {
    return row.Matches(scratch_state_, primary_state_);
  }

  BootResult<Resumed> From(StatusSource source) const {
    switch (source) {
      case StatusSource::kStaleRecord: return EraseStaleRecord();
      case StatusSource::kRepairRecord: return CompleteRepair();
      case StatusSource::kTornCopyDone: return RepairTornCopyDone();
      case StatusSource::kScratch: return FromScratchLog();
      case StatusSource::kPrimary: return FromPrimaryLog();
    }
    return kTryNextRow;
  }

 private:
  // The primary is finished, so only the record's erase is left, and that
  // must not depend on the record's fields: an erase of it torn with random
  // bytes may have kept copy_done but mangled the rest.
  BootResult<Resumed> EraseStaleRecord() const {
    MQOTA_TRY(scratch_.EraseSectors());
    return Completed(primary_state_.swap_type, primary_state_.swap_size.value_or(0));
  }

  // A record whose copy_done write was torn is no record: the primary still
  // shows its torn copy_done, and the repair starts over (next rows).
  BootResult<Resumed> CompleteRepair() const {
    if (!IsRepairRecord(scratch_state_, context_.image_index)) return kTryNextRow;
    const SwapType type = scratch_state_.swap_type;
    const uint32_t swap_size = *scratch_state_.swap_size;
    if (!Swappable(swap_size)) return kBadGeometry;
    MQOTA_TRY(ScratchSwap(context_, type, swap_size, false).CompleteRepair());
    return Completed(type, swap_size);
  }

  // A finished swap (the scratch not in use, the primary log complete) whose
  // copy_done cell is written but not SET.
  BootResult<Resumed> RepairTornCopyDone() const {
    if (!IsSwap(primary_state_.swap_type) || !primary_state_.swap_size) return kTryNextRow;
    MQOTA_TRY_ASSIGN(const bool torn, CopyDoneTorn(primary_, primary_state_));
    if (!torn) return kTryNextRow;
    const SwapType type = primary_state_.swap_type;
    const uint32_t swap_size = *primary_state_.swap_size;
    if (!Swappable(swap_size)) return kBadGeometry;
    ScratchSwap swap(context_, type, swap_size, false);
    const uint32_t entries = swap.plan().Count() * kStatesPerRegion;
    MQOTA_TRY_ASSIGN(const uint32_t logged, CountStatusEntries(primary_, entries));
    if (logged != entries) return kTryNextRow;
    MQOTA_TRY(swap.RepairTornFinish());
    return Completed(type, swap_size);
  }

  // The scratch logs only the trailer region's states 0 and 1; the entry for
  // its state 2 goes to the primary. Anything else in a scratch log cannot
  // come from a swap of this layout: start over.
  BootResult<Resumed> FromScratchLog() const {
    if (scratch_state_.image_index != context_.image_index) return kTryNextRow;
    return Continue(scratch_state_, [this](const Plan& plan) -> BootResult<uint32_t> {
      if (!plan.HoldsTrailer(plan.First())) return 0u;
      MQOTA_TRY_ASSIGN(const bool follow_primary,
                       FollowPrimaryAfterStateTwo(primary_, primary_state_, scratch_state_));
      if (!follow_primary) return CountStatusEntries(scratch_, kStatesPerRegion - 1);
      // The trailer region's state 2 is complete and logged in the rebuilt
      // primary trailer; only the scratch trailer's erase was cut, perhaps in
      // the middle of a sector, over scratch bytes that may no longer be
      // whole. Redo that erase (it touches nothing the swap still needs),
      // then go on from the primary log. A cut in this erase comes back
      // here; once the magic is gone the primary is the source.
      MQOTA_TRY(scratch_.EraseSectors());
      return CountStatusEntries(primary_, plan.Count() * kStatesPerRegion);
    });
  }

  BootResult<Resumed> FromPrimaryLog() const {
    return Continue(primary_state_, [this](const Plan& plan) {
      return CountStatusEntries(primary_, plan.Count() * kStatesPerRegion);
    });
  }

  // Runs the swap `recorded` describes from the steps `steps_done(plan)`
  // finds logged. A trailer that records no swap (an imgtool-padded primary)
  // hands over to the next row.
  template <typename StepsDone>
  BootResult<Resumed> Continue(const TrailerState& recorded, StepsDone steps_done) const {
    if (!IsSwap(recorded.swap_type) || !recorded.swap_size) return kTryNextRow;
    const SwapType type = recorded.swap_type;
    const uint32_t swap_size = *recorded.swap_size;
    if (!Swappable(swap_size)) return kBadGeometry;
    ScratchSwap swap(context_, type, swap_size, recorded.image_ok == FlagState::kSet);
    MQOTA_TRY_ASSIGN(const uint32_t steps, steps_done(swap.plan()));
    // Initialised but nothing moved: the bootloader re-validates the
    // untouched secondary before starting over (upstream does the same).
    if (steps == 0) return Resumed{ResumeResult{ResumeKind::kRestartNeeded, type, swap_size}};
    MQOTA_TRY(swap.Run(steps));
    return Completed(type, swap_size);
  }

  // A recorded size this layout can swap; anything else is a corrupted
  // trailer, and moving by it could run into the trailer.
  bool Swappable(uint32_t swap_size) const {
    return swap_size != 0 && swap_size <= MaxImageBytes(context_);
  }

  explicit ScratchResume(const SwapContext& context)
      : context_(context),
        primary_(context.primary, context.trailer),
        scratch_(*context.scratch, ScratchGeometry(context.trailer)) {}

  const SwapContext& context_;
  Trailer primary_;
  Trailer scratch_;
  TrailerState primary_state_;
  TrailerState scratch_state_;
};

}  // namespace

bool SwapScratch::IsCompatible(const SwapContext& context) const {
  if (context.scratch == nullptr) return false;
  const flash::FlashArea& primary = context.primary;
  const flash::FlashArea& secondary = context.secondary;
  const flash::FlashArea& scratch = *context.scratch;
  if (!primary.IsValid() || !secondary.IsValid() || !scratch.IsValid()) return false;
  if (!Trailer(primary, context.trailer).IsUsable() ||
      !Trailer(secondary, context.trailer).IsUsable() ||
      !Trailer(scratch, ScratchGeometry(context.trailer)).IsUsable()) {
    return false;
  }
  // Status entries are handed from the scratch to the primary as raw cells.
  if (primary.erased_value() != secondary.erased_value() ||
      primary.erased_value() != scratch.erased_value()) {
    return false;
  }
  // Regions are cut from the primary's sectors and applied to the secondary
  // at the same offsets, so both must erase in the same units.
  const uint32_t sectors = primary.sector_count();
  if (sectors != secondary.sector_count() || sectors > context.trailer.max_sectors) return false;
  for (uint32_t i = 0; i < sectors; ++i) {
    const auto a = primary.SectorByIndex(i);
    const auto b = secondary.SectorByIndex(i);
    if (!a || !b || a->size_bytes != b->size_bytes || a->size_bytes > scratch.size_bytes()) {
      return false;
    }
  }
  return MaxImageBytes(context) > 0;
}

uint32_t SwapScratch::MaxImageSize(const SwapContext& context) const {
  return IsCompatible(context) ? MaxImageBytes(context) : 0;
}

BootStatus SwapScratch::Swap(const SwapContext& context, SwapType type, uint32_t copy_size) {
  if (!IsSwap(type) || !IsCompatible(context) || copy_size == 0 ||
      copy_size > MaxImageBytes(context)) {
    return kBadGeometry;
  }
  // The secondary trailer is intact until state 1 of the first region, also
  // when restarting a swap whose log stayed empty: its image_ok is what a
  // PERM request leaves to carry into the new primary trailer.
  MQOTA_TRY_ASSIGN(const TrailerState secondary,
                   Trailer(context.secondary, context.trailer).Read());
  const bool carry_image_ok = type != SwapType::kTest && secondary.image_ok == FlagState::kSet;
  return ScratchSwap(context, type, copy_size, carry_image_ok).Run(0);
}

BootResult<ResumeResult> SwapScratch::Resume(const SwapContext& context) {
  if (!IsCompatible(context)) return kBadGeometry;
  MQOTA_TRY_ASSIGN(const ScratchResume resume, ScratchResume::Read(context));
  for (const StatusSourceRow& row : kScratchStatusTable) {
    if (!resume.Matches(row)) continue;
    MQOTA_TRY_ASSIGN(const Resumed resumed, resume.From(row.source));
    if (resumed) return *resumed;
  }
  // No trailer of ours (an imgtool-padded or blank primary): nothing started.
  return ResumeResult{};
}

}  // namespace mqota::boot
