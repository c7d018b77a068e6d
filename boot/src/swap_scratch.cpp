#include "mqota/boot/swap_scratch.h"

#include <algorithm>
#include <array>
#include <optional>
#include <span>

#include "mqota/boot/swap_scratch_status.h"
#include "mqota/boot/swap_type.h"
#include "torn_cells.h"

namespace mqota::boot {
namespace {

constexpr uint32_t kStatesPerRegion = 3;
// The two scratch log cells (largest W) handed to the primary in one write.
constexpr uint32_t kMaxHandoverBytes = 2 * kMaxCellBytes;

constexpr BootError kBadGeometry{BootErrc::kBadGeometry, {}};

// The scratch carries the slot trailer's fields but a single status triple:
// only the region that holds the slot trailer logs there (spec §3.1).
constexpr TrailerGeometry ScratchGeometry(const TrailerGeometry& slot) {
  return TrailerGeometry{slot.write_size, slot.max_align, 1};
}

// Offset of the first slot sector holding trailer bytes (layout checked).
uint32_t FirstTrailerSectorOffset(const flash::FlashArea& slot, const TrailerGeometry& geometry) {
  const auto sector = slot.SectorContaining(slot.size_bytes() - geometry.trailer_bytes());
  return sector ? sector->offset_bytes : 0;
}

// Largest image for areas whose sector layout was already checked.
uint32_t MaxImageBytes(const SwapContext& context) {
  const uint32_t trailer_offset = context.primary.size_bytes() - context.trailer.trailer_bytes();
  const auto sector = context.primary.SectorContaining(trailer_offset);
  if (!sector) return 0;
  // The region ending with this sector copies its image part through the
  // scratch next to the scratch trailer; when the slot trailer leaves less
  // room in the sector than the scratch trailer takes, the image must stop
  // short by the difference or its tail would land on the scratch log.
  const uint32_t trailer_in_sector = sector->offset_bytes + sector->size_bytes - trailer_offset;
  const uint32_t scratch_trailer = ScratchGeometry(context.trailer).trailer_bytes();
  const uint32_t padding =
      scratch_trailer > trailer_in_sector ? scratch_trailer - trailer_in_sector : 0;
  return trailer_offset > padding ? trailer_offset - padding : 0;
}

// Consecutive slot sectors exchanged through the scratch in one three-step round.
struct Region {
  uint32_t first_sector;
  uint32_t offset;
  uint32_t size;
};

// Where every region of a swap of `swap_size` bytes lies. Derived from the
// areas and the recorded size alone, so Swap() and a Resume() after any reset
// agree on the region each log entry speaks of.
class Plan {
 public:
  Plan(const SwapContext& context, uint32_t swap_size)
      : slot_(context.primary),
        scratch_bytes_(context.scratch->size_bytes()),
        trailer_offset_(slot_.size_bytes() - context.trailer.trailer_bytes()),
        trailer_sector_offset_(FirstTrailerSectorOffset(slot_, context.trailer)),
        scratch_log_offset_(scratch_bytes_ - ScratchGeometry(context.trailer).trailer_bytes()) {
    const auto last = slot_.SectorContaining(swap_size - 1);
    last_sector_ = last ? last->index : 0;
  }

  // Highest region first: the one holding the trailer, if any, settles where
  // the log lives before anything else moves.
  Region First() const { return EndingAt(last_sector_); }
  std::optional<Region> Next(const Region& region) const {
    if (region.first_sector == 0) return std::nullopt;
    return EndingAt(region.first_sector - 1);
  }
  uint32_t Count() const {
    uint32_t count = 1;
    for (auto region = Next(First()); region; region = Next(*region)) ++count;
    return count;
  }

  // Only the first region can reach the trailer sectors: regions start at the
  // last sector holding data, which lies at or below the trailer's first sector.
  bool HoldsTrailer(const Region& region) const {
    return region.offset + region.size > trailer_sector_offset_;
  }
  // Bytes moved: the trailer region moves its image part; trailers are rebuilt.
  uint32_t CopyBytes(const Region& region) const {
    if (!HoldsTrailer(region)) return region.size;
    return std::min(trailer_offset_ - region.offset, scratch_log_offset_);
  }
  // Bytes of the region below the trailer sectors, which are erased on their own.
  uint32_t DataSectorBytes(const Region& region) const {
    return HoldsTrailer(region) ? trailer_sector_offset_ - region.offset : region.size;
  }
  uint32_t trailer_sector_offset() const { return trailer_sector_offset_; }
  // Bytes a finished swap left in the trailer sectors below the trailer: the
  // part of the trailer region's copy at or above the first trailer sector
  // (0 when the image stays below it: the swap erased those sectors whole).
  // At most the scratch's room below its trailer, like any region copy.
  uint32_t TrailerSectorDataBytes() const {
    const Region first = First();
    if (!HoldsTrailer(first)) return 0;
    const uint32_t end = first.offset + CopyBytes(first);
    return end > trailer_sector_offset_ ? end - trailer_sector_offset_ : 0;
  }

 private:
  Region EndingAt(uint32_t last_sector) const {
    Region region{last_sector + 1, 0, 0};
    for (uint32_t index = last_sector + 1; index > 0; --index) {
      const auto sector = slot_.SectorByIndex(index - 1);
      if (!sector || region.size + sector->size_bytes > scratch_bytes_) break;
      region = Region{sector->index, sector->offset_bytes, region.size + sector->size_bytes};
    }
    return region;
  }

  const flash::FlashArea& slot_;
  uint32_t scratch_bytes_;
  uint32_t trailer_offset_;
  uint32_t trailer_sector_offset_;
  uint32_t scratch_log_offset_;
  uint32_t last_sector_ = 0;
};

// One swap run, from a given number of completed steps to the end state.
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
  BootStatus Run(uint32_t steps_done) {
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

 private:
  BootStatus SwapRegion(const Region& region, uint32_t first_step, uint32_t state) {
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
      MQOTA_TRY(
          Copy(context_.primary, region.offset, context_.secondary, region.offset, copy_bytes));
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
  bool PrimaryImageOk() const { return carry_image_ok_ || type_ == SwapType::kRevert; }

  // swap_info, image_ok, swap_size, then the magic: a trailer only reads GOOD
  // once every field it vouches for is in place (spec §10 rule 1).
  BootStatus InitTrailer(const Trailer& trailer, bool image_ok) {
    MQOTA_TRY(trailer.WriteSwapInfo(type_, context_.image_index));
    if (image_ok) MQOTA_TRY(trailer.WriteImageOk());
    MQOTA_TRY(trailer.WriteSwapSize(swap_size_));
    return trailer.WriteMagic();
  }

  // The trailer region's state 2: the primary trailer sectors were erased, so
  // the two entries logged in the scratch move over in one write, then the
  // fields, magic last. Until that magic and the next entry are written the
  // scratch stays the status source and a reset redoes all of state 2.
  BootStatus RebuildPrimaryTrailer() {
    const uint32_t bytes = 2 * context_.trailer.write_size;
    std::array<uint8_t, kMaxHandoverBytes> cells{};
    const auto span = std::span(cells).first(bytes);
    MQOTA_TRY(Check(context_.scratch->Read(scratch_.offset_bytes(), span)));
    MQOTA_TRY(Check(context_.primary.Write(primary_.offset_bytes(), span)));
    return InitTrailer(primary_, PrimaryImageOk());
  }

  // image_ok before copy_done: a reset between the two must not leave the
  // "running an unconfirmed test" state, which would revert (spec §10 rule 7).
  // Each flag is written only while erased, so a resumed finish never writes
  // a cell twice.
  BootStatus Finish() {
    MQOTA_TRY_ASSIGN(const TrailerState state, primary_.Read());
    if (WantsImageOk() && state.image_ok == FlagState::kUnset) MQOTA_TRY(primary_.WriteImageOk());
    if (state.copy_done == FlagState::kUnset) MQOTA_TRY(primary_.WriteCopyDone());
    return {};
  }

 public:
  // A copy_done write torn by a power cut (spec §7.5) leaves a cell that reads
  // neither UNSET nor SET, or UNSET over programmed bytes. Nothing can be
  // written there again before the primary trailer sectors are erased, and
  // while they are erased the swap table would read "nothing pending,
  // confirmed" (wrong for a TEST). So the finished swap is first recorded in
  // the scratch, which a finished swap no longer needs: the bytes the swap
  // left in the primary's trailer sectors below the trailer (the trailer
  // region's image tail), then swap_info, swap_size and copy_done SET, copy_done
  // last, the scratch magic left erased. That "repair record" is unlike any
  // scratch trailer a swap writes (those have a GOOD magic and never a
  // copy_done), and Resume() looks for it before anything else.
  // A cut before copy_done lands leaves no record: the primary still shows
  // its torn copy_done and the repair starts over (the scratch is erased
  // first). From the record on, CompleteRepair() redoes the rest.
  BootStatus RepairTornFinish() {
    const uint32_t tail = plan_.TrailerSectorDataBytes();
    MQOTA_TRY(Check(context_.scratch->EraseAll()));
    MQOTA_TRY(Copy(context_.primary, plan_.trailer_sector_offset(), *context_.scratch, 0, tail));
    MQOTA_TRY(scratch_.WriteSwapInfo(type_, context_.image_index));
    MQOTA_TRY(scratch_.WriteSwapSize(swap_size_));
    MQOTA_TRY(scratch_.WriteCopyDone());
    return CompleteRepair();
  }

  // With the repair record in place: erase the primary trailer sectors (last
  // first), put the image tail back, write the end-state trailer with the
  // magic last, then erase the record (last sector first). Until the magic
  // lands the primary reads "no trailer" or a BAD magic, and the record makes
  // the next boot redo this from the scratch bytes, which nothing here
  // touches. Once the primary reads GOOD with copy_done SET, Resume() only
  // erases the record again: the scratch bytes are never read after that, so
  // an erase of the record torn in its middle cannot bring stale bytes back.
  BootStatus CompleteRepair() {
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

 private:
  bool WantsImageOk() const { return type_ == SwapType::kPerm || type_ == SwapType::kRevert; }

  // The entry is written only after the step's last flash operation, so a
  // written entry always means the step's data is complete.
  BootStatus Log(uint32_t step, bool in_scratch) {
    const uint8_t value = static_cast<uint8_t>(step % kStatesPerRegion + 1);
    return (in_scratch ? scratch_ : primary_).WriteStatusEntry(step, value);
  }

  // Only the scratch sectors the region will use: less wear with a scratch
  // larger than the region.
  BootStatus EraseScratchFor(uint32_t bytes) {
    const auto last = context_.scratch->SectorContaining(bytes - 1);
    const uint32_t end =
        last ? last->offset_bytes + last->size_bytes : context_.scratch->size_bytes();
    return Check(context_.scratch->Erase(0, end));
  }

  static BootStatus EraseRange(const flash::FlashArea& area, uint32_t offset, uint32_t bytes) {
    return bytes == 0 ? BootStatus{} : Check(area.Erase(offset, bytes));
  }

  static BootStatus Copy(const flash::FlashArea& from, uint32_t from_offset,
                         const flash::FlashArea& to, uint32_t to_offset, uint32_t bytes) {
    std::array<uint8_t, kCopyBufferBytes> buffer;
    for (uint32_t done = 0; done < bytes;) {
      const uint32_t chunk = std::min<uint32_t>(kCopyBufferBytes, bytes - done);
      const auto span = std::span(buffer).first(chunk);
      MQOTA_TRY(Check(from.Read(from_offset + done, span)));
      MQOTA_TRY(Check(to.Write(to_offset + done, span)));
      done += chunk;
    }
    return {};
  }

  const SwapContext& context_;
  Plan plan_;
  Trailer primary_;
  Trailer secondary_;
  Trailer scratch_;
  SwapType type_;
  uint32_t swap_size_;
  bool carry_image_ok_;
};

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
