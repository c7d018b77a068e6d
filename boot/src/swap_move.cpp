#include "mqota/boot/swap_move.h"

#include <algorithm>
#include <array>
#include <optional>

#include "mqota/boot/swap_type.h"
#include "mqota/image/format.h"
#include "slot_sectors.h"
#include "torn_cells.h"

namespace mqota::boot {
namespace {

// Values written into status entries: the state just completed, as MCUboot's
// (1 for a move; 1 and 2 for the two halves of a swap step).
constexpr uint8_t kStatusState0 = 1;
constexpr uint8_t kStatusState1 = 2;

constexpr BootError kGeometryError{BootErrc::kBadGeometry, {}};

// The shape both slots share, once IsCompatible's conditions hold.
struct Layout {
  uint32_t sector_bytes;
  uint32_t primary_sectors;
  uint32_t secondary_sectors;
  uint32_t trailer_sectors;

  // Index of the primary's first trailer sector: the moved-up image must end
  // below it.
  uint32_t first_trailer_sector() const { return primary_sectors - trailer_sectors; }

  // Sectors the swap touches (MCUboot's last_idx): at least one, so that even
  // an empty copy runs the trailer set-up and finishes like any other swap.
  uint32_t LastIndex(uint32_t copy_size) const {
    return std::max<uint32_t>(1, (copy_size + sector_bytes - 1) / sector_bytes);
  }
  bool Fits(uint32_t copy_size) const { return LastIndex(copy_size) < first_trailer_sector(); }
};

std::optional<Layout> ReadLayout(const SwapContext& context) {
  const Trailer primary(context.primary, context.trailer);
  const Trailer secondary(context.secondary, context.trailer);
  if (!primary.IsUsable() || !secondary.IsUsable()) return std::nullopt;
  const uint32_t primary_sectors = context.primary.sector_count();
  const uint32_t secondary_sectors = context.secondary.sector_count();
  if (secondary_sectors == 0) return std::nullopt;
  if (primary_sectors != secondary_sectors && primary_sectors != secondary_sectors + 1) {
    return std::nullopt;
  }
  // Every sector needs its own status record.
  if (primary_sectors > context.trailer.max_sectors) return std::nullopt;
  const auto first = context.primary.SectorByIndex(0);
  if (!first || first->size_bytes == 0) return std::nullopt;
  const uint32_t sector_bytes = first->size_bytes;
  // The move reuses one sector offset for both slots: identical sectors only.
  if (!UniformSectors(context.primary, sector_bytes) ||
      !UniformSectors(context.secondary, sector_bytes)) {
    return std::nullopt;
  }
  const uint32_t trailer_sectors =
      (context.trailer.trailer_bytes() + sector_bytes - 1) / sector_bytes;
  // Room for at least one image sector plus the spare one below the trailer.
  if (primary_sectors < trailer_sectors + 2 || secondary_sectors < trailer_sectors + 1) {
    return std::nullopt;
  }
  return Layout{sector_bytes, primary_sectors, secondary_sectors, trailer_sectors};
}

// Whether the primary trailer holds the log of a swap under way (MCUboot's
// swap_status_source). A GOOD secondary magic means a request is still
// pending there, so a primary trailer is at most half initialised and the
// swap must start afresh; copy_done SET means the last swap finished.
bool PrimaryIsStatusSource(const TrailerState& primary, const TrailerState& secondary) {
  return primary.magic == MagicState::kGood && primary.copy_done == FlagState::kUnset &&
         secondary.magic != MagicState::kGood;
}

// Where the log says the swap stands.
struct Progress {
  uint32_t moves_done = 0;  // move steps completed, 0..L
  uint32_t swaps_done = 0;  // swap half-steps completed, 0..2L
};

BootResult<Progress> ProgressFrom(uint32_t last_entry, uint32_t last_index, uint32_t max_sectors) {
  Progress progress;
  if (last_entry < max_sectors) {
    progress.moves_done = last_entry + 1;
    if (progress.moves_done > last_index) return kGeometryError;
  } else {
    progress.moves_done = last_index;
    progress.swaps_done = last_entry - max_sectors + 1;
    if (progress.swaps_done > 2 * last_index) return kGeometryError;
  }
  return progress;
}

// One swap of `type` over `last_index` sectors, run from any point of its log.
class MoveSwapper {
 public:
  MoveSwapper(const SwapContext& context, const Layout& layout, SwapType type, uint32_t swap_size)
      : context_(context),
        layout_(layout),
        primary_(context.primary, context.trailer),
        secondary_(context.secondary, context.trailer),
        type_(type),
        swap_size_(swap_size),
        last_index_(layout.LastIndex(swap_size)) {}

  uint32_t last_index() const { return last_index_; }

  // Writes into the secondary the trailer of a PERM request for the same
  // swap. A revert starts with the secondary trailer erased and the primary's
  // completed-test trailer as the only record; re-initialising the primary
  // trailer erases that record, and a cut before the new one is whole would
  // boot the unconfirmed image for good. With this request in place every cut
  // from here on either repeats the revert (fix-up unfinished: the primary
  // still reads GOOD/UNSET/SET) or runs it as a PERM swap, which moves the same
  // bytes and ends confirmed.
  BootStatus FixUpRevert() {
    MQOTA_TRY(secondary_.EraseSectors());
    MQOTA_TRY(secondary_.WriteImageOk());
    MQOTA_TRY(secondary_.WriteSwapSize(swap_size_));
    // Magic last: until it lands the secondary reads as no request at all.
    return secondary_.WriteMagic();
  }

  // Each step reads a sector that no earlier step has overwritten and that
  // only a later step overwrites, and its status entry follows its last
  // write: a cut anywhere repeats at most the step the log does not show as
  // done, from the same bytes.
  BootStatus Run(Progress from, bool primary_is_source) {
    for (uint32_t step = from.moves_done + 1; step <= last_index_; ++step) {
      if (step == 1) MQOTA_TRY(PrepareTrailers(primary_is_source));
      MQOTA_TRY(MoveUp(last_index_ - step + 1));
      // After this entry the step is never redone, so it is written only
      // once the sector's copy is complete.
      MQOTA_TRY(primary_.WriteStatusEntry(step - 1, kStatusState0));
    }
    for (uint32_t half = from.swaps_done; half < 2 * last_index_; ++half) {
      const uint32_t index = half / 2 + 1;
      const bool second = half % 2 != 0;
      MQOTA_TRY(second ? OldToSecondary(index) : NewToPrimary(index));
      MQOTA_TRY(primary_.WriteStatusEntry(context_.trailer.max_sectors + half,
                                          second ? kStatusState1 : kStatusState0));
    }
    return Finish();
  }

 private:
  uint32_t Offset(uint32_t sector) const { return sector * layout_.sector_bytes; }

  // The first move step's set-up. The primary trailer becomes the record of
  // the swap (magic last, docs/spec/mcuboot-trailer.md#rule-1-magic-last); while the secondary
  // magic is still GOOD the primary is not the status source, so a cut anywhere here lets the
  // secondary's request start the swap over. Erasing the secondary trailer hands the request over:
  // from its first sector erase on (the last sector, holding the magic) the primary trailer is the
  // status source. On a restart the primary already is the source and must not be touched: erasing
  // it with the secondary request gone would forget the swap.
  BootStatus PrepareTrailers(bool primary_is_source) {
    if (!primary_is_source) {
      MQOTA_TRY(primary_.EraseSectors());
      MQOTA_TRY(primary_.WriteSwapInfo(type_, context_.image_index));
      // PERM and REVERT carry image_ok from the request (a revert's from the
      // fix-up), as MCUboot copies the secondary's image_ok.
      if (type_ != SwapType::kTest) MQOTA_TRY(primary_.WriteImageOk());
      MQOTA_TRY(primary_.WriteSwapSize(swap_size_));
      MQOTA_TRY(primary_.WriteMagic());
    }
    // Also on a restart: a cut may have stopped this erase half-way.
    return secondary_.EraseSectors();
  }

  // Primary sector i-1 to sector i. Sector i-1 is only overwritten by the
  // next move step, so a cut here redoes this copy from an intact source.
  BootStatus MoveUp(uint32_t index) {
    const flash::FlashArea& primary = context_.primary;
    MQOTA_TRY(Check(primary.Erase(Offset(index), layout_.sector_bytes)));
    return CopyRegion(primary, Offset(index - 1), primary, Offset(index), layout_.sector_bytes);
  }

  // New sector i-1 into primary i-1, whose old content is safe at primary i.
  // The secondary sector stays intact until the second half, so a cut redoes
  // this copy from it.
  BootStatus NewToPrimary(uint32_t index) {
    const flash::FlashArea& primary = context_.primary;
    MQOTA_TRY(Check(primary.Erase(Offset(index - 1), layout_.sector_bytes)));
    return CopyRegion(context_.secondary, Offset(index - 1), primary, Offset(index - 1),
                      layout_.sector_bytes);
  }

  // Old sector i-1 (at primary i) into secondary i-1, whose new content is
  // now in the primary. Primary i is only overwritten by the next step's first
  // half, so a cut redoes this copy from an intact source.
  BootStatus OldToSecondary(uint32_t index) {
    const flash::FlashArea& secondary = context_.secondary;
    MQOTA_TRY(Check(secondary.Erase(Offset(index - 1), layout_.sector_bytes)));
    return CopyRegion(context_.primary, Offset(index), secondary, Offset(index - 1),
                      layout_.sector_bytes);
  }

 public:
  // A copy_done write torn by a power cut (docs/spec/mcuboot-trailer.md#torn-operations) leaves a
  // cell that reads neither UNSET nor SET, or UNSET over programmed bytes. It cannot be written
  // again before the primary trailer sector is erased, and while it is erased the swap table would
  // read "nothing pending, confirmed" (wrong for a TEST, and not the end state for any type). So
  // the finished swap is first recorded in the secondary trailer, which a finished swap leaves
  // erased and which never holds image bytes (MaxImageSize): swap_info,
  // swap_size, then copy_done SET last, the magic left erased. With the magic
  // erased the swap table sees no request there; no other writer puts a
  // copy_done into a secondary trailer, so Resume() can tell this "repair
  // record" apart and looks for it before anything else. A cut before its
  // copy_done lands leaves the torn primary as it was, and the repair starts
  // over (erasing the secondary trailer first).
  BootStatus RepairTornFinish() {
    MQOTA_TRY(secondary_.EraseSectors());
    MQOTA_TRY(secondary_.WriteSwapInfo(type_, context_.image_index));
    MQOTA_TRY(secondary_.WriteSwapSize(swap_size_));
    MQOTA_TRY(secondary_.WriteCopyDone());
    return CompleteRepair();
  }

  // With the repair record in place: erase the primary trailer sectors (last
  // first; they hold no image bytes), write the end-state trailer with the
  // magic last (docs/spec/mcuboot-trailer.md#rule-1-magic-last), then erase the record. Until the
  // magic lands the primary is not a status source and the record makes the next boot redo this;
  // once the primary reads GOOD with copy_done SET, Resume() only erases the record again.
  BootStatus CompleteRepair() {
    MQOTA_TRY(primary_.EraseSectors());
    MQOTA_TRY(primary_.WriteSwapInfo(type_, context_.image_index));
    if (type_ != SwapType::kTest) MQOTA_TRY(primary_.WriteImageOk());
    MQOTA_TRY(primary_.WriteSwapSize(swap_size_));
    MQOTA_TRY(primary_.WriteCopyDone());
    MQOTA_TRY(primary_.WriteMagic());
    return secondary_.EraseSectors();
  }

 private:
  // image_ok before copy_done (docs/spec/mcuboot-trailer.md#rule-7-image_ok-before-copy_done):
  // copy_done SET with image_ok UNSET is the "revert me" state, which a PERM or a REVERT must never
  // pass through. Until copy_done lands the primary stays the status source with a full log, so a
  // cut here only repeats this function.
  BootStatus Finish() {
    MQOTA_TRY_ASSIGN(const TrailerState state, primary_.Read());
    if (type_ != SwapType::kTest && state.image_ok == FlagState::kUnset) {
      MQOTA_TRY(primary_.WriteImageOk());
    }
    return primary_.WriteCopyDone();
  }

  const SwapContext& context_;
  Layout layout_;
  Trailer primary_;
  Trailer secondary_;
  SwapType type_;
  uint32_t swap_size_;
  uint32_t last_index_;
};

struct Recorded {
  TrailerState primary;
  TrailerState secondary;
  bool source = false;  // the primary trailer is the status source
  std::optional<uint32_t> last_entry;
};

BootResult<Recorded> ReadRecord(const SwapContext& context) {
  const Trailer primary(context.primary, context.trailer);
  const Trailer secondary(context.secondary, context.trailer);
  Recorded record;
  MQOTA_TRY_ASSIGN(record.primary, primary.Read());
  MQOTA_TRY_ASSIGN(record.secondary, secondary.Read());
  record.source = PrimaryIsStatusSource(record.primary, record.secondary);
  if (record.source) {
    MQOTA_TRY_ASSIGN(record.last_entry, LastWrittenStatusEntry(primary));
  }
  return record;
}

bool RecordsSwap(const Recorded& record) {
  return record.source && IsSwap(record.primary.swap_type) && record.primary.swap_size.has_value();
}

// Continues the swap the primary trailer records, from its log.
BootStatus ContinueRecorded(const SwapContext& context, const Layout& layout,
                            const Recorded& record) {
  MoveSwapper swapper(context, layout, record.primary.swap_type, *record.primary.swap_size);
  // The recorded size passed this check when the swap started; a failure
  // means a corrupted trailer, and moving by it could run into the trailer.
  if (!layout.Fits(*record.primary.swap_size)) return kGeometryError;
  Progress progress;
  if (record.last_entry) {
    MQOTA_TRY_ASSIGN(progress, ProgressFrom(*record.last_entry, swapper.last_index(),
                                            context.trailer.max_sectors));
  }
  return swapper.Run(progress, /*primary_is_source=*/true);
}

// A finished swap whose copy_done write was torn: the primary trailer GOOD
// for a swap, its log complete (the last swap half logged), the copy_done
// cell written but not reading SET, and no request in the secondary (whose
// trailer the repair uses; a request there re-initialises the primary trailer
// anyway when it runs).
BootResult<bool> FinishedWithTornCopyDone(const SwapContext& context, const Layout& layout,
                                          const Recorded& record) {
  const TrailerState& p = record.primary;
  if (p.magic != MagicState::kGood || p.copy_done == FlagState::kSet || !IsSwap(p.swap_type) ||
      !p.swap_size || record.secondary.magic == MagicState::kGood || !layout.Fits(*p.swap_size)) {
    return false;
  }
  const Trailer primary(context.primary, context.trailer);
  MQOTA_TRY_ASSIGN(const bool torn, CopyDoneTorn(primary, p));
  if (!torn) return false;
  MQOTA_TRY_ASSIGN(const std::optional<uint32_t> last, LastWrittenStatusEntry(primary));
  const uint32_t last_half = context.trailer.max_sectors + 2 * layout.LastIndex(*p.swap_size) - 1;
  return last.has_value() && *last == last_half;
}

}  // namespace

bool SwapMove::IsCompatible(const SwapContext& context) const {
  return ReadLayout(context).has_value();
}

uint32_t SwapMove::MaxImageSize(const SwapContext& context) const {
  const auto layout = ReadLayout(context);
  if (!layout) return 0;
  const uint32_t s = layout->sector_bytes;
  const uint32_t trailer = layout->trailer_sectors * s;
  // ReadLayout guarantees both differences are positive.
  return std::min(layout->primary_sectors * s - trailer - s,
                  layout->secondary_sectors * s - trailer);
}

BootResult<ResumeResult> SwapMove::Resume(const SwapContext& context) {
  const auto layout = ReadLayout(context);
  if (!layout) return kGeometryError;
  MQOTA_TRY_ASSIGN(const Recorded record, ReadRecord(context));
  // A repair of a torn copy_done under way outranks everything: the primary
  // trailer it rebuilds may read erased, half written, or GOOD before its
  // copy_done (which would otherwise look like a swap to restart). Once the
  // primary is finished only the record's erase is left, and that must not
  // depend on the record's fields: an erase of it torn with random bytes may
  // have kept copy_done but mangled the rest.
  if (record.secondary.magic == MagicState::kUnset &&
      record.secondary.copy_done != FlagState::kUnset) {
    const bool primary_done =
        record.primary.magic == MagicState::kGood && record.primary.copy_done == FlagState::kSet;
    if (primary_done) {
      MQOTA_TRY(Trailer(context.secondary, context.trailer).EraseSectors());
      return ResumeResult{ResumeKind::kCompleted, record.primary.swap_type,
                          record.primary.swap_size.value_or(0)};
    }
    if (IsRepairRecord(record.secondary, context.image_index)) {
      const SwapType type = record.secondary.swap_type;
      const uint32_t swap_size = *record.secondary.swap_size;
      if (!layout->Fits(swap_size)) return kGeometryError;
      MQOTA_TRY(MoveSwapper(context, *layout, type, swap_size).CompleteRepair());
      return ResumeResult{ResumeKind::kCompleted, type, swap_size};
    }
    // A record whose copy_done write was torn: the primary still shows its
    // torn copy_done, and the repair below starts over.
  }
  MQOTA_TRY_ASSIGN(const bool torn_finish, FinishedWithTornCopyDone(context, *layout, record));
  if (torn_finish) {
    const SwapType type = record.primary.swap_type;
    const uint32_t swap_size = *record.primary.swap_size;
    MQOTA_TRY(MoveSwapper(context, *layout, type, swap_size).RepairTornFinish());
    return ResumeResult{ResumeKind::kCompleted, type, swap_size};
  }
  // No source, or a primary trailer that records no swap (an imgtool-padded
  // image): whatever is pending is the swap table's to decide.
  if (!RecordsSwap(record)) return ResumeResult{};
  const ResumeResult recorded{ResumeKind::kCompleted, record.primary.swap_type,
                              *record.primary.swap_size};
  if (!record.last_entry) {
    // Initialised, nothing moved: the images are where they were, so the
    // bootloader may validate the secondary again before restarting.
    return ResumeResult{ResumeKind::kRestartNeeded, recorded.type, recorded.swap_size};
  }
  MQOTA_TRY(ContinueRecorded(context, *layout, record));
  return recorded;
}

BootStatus SwapMove::Swap(const SwapContext& context, SwapType type, uint32_t copy_size) {
  const auto layout = ReadLayout(context);
  if (!layout || !IsSwap(type)) return kGeometryError;
  MQOTA_TRY_ASSIGN(const Recorded record, ReadRecord(context));
  // A swap the primary trailer records already owns the slots: starting
  // another would erase its record while the secondary request is gone.
  if (RecordsSwap(record)) return ContinueRecorded(context, *layout, record);

  // Refused before any write, so the request stays and the primary boots.
  if (!layout->Fits(copy_size)) return kGeometryError;
  MoveSwapper swapper(context, *layout, type, copy_size);
  if (type == SwapType::kRevert) {
    // Reverting from an erased secondary would copy nothing valid over the
    // running image.
    MQOTA_TRY_ASSIGN(const bool source_gone, ImageHeaderErased(context.secondary, 0));
    if (source_gone) {
      MQOTA_TRY(ClearStuckRevert(context));
      return {};
    }
    MQOTA_TRY(swapper.FixUpRevert());
  }
  return swapper.Run(Progress{}, /*primary_is_source=*/false);
}

BootResult<bool> SwapMove::ClearStuckRevert(const SwapContext& context) const {
  if (!ReadLayout(context)) return kGeometryError;
  const Trailer primary(context.primary, context.trailer);
  const Trailer secondary(context.secondary, context.trailer);
  MQOTA_TRY_ASSIGN(const TrailerState primary_state, primary.Read());
  MQOTA_TRY_ASSIGN(const TrailerState secondary_state, secondary.Read());
  if (DecideSwapType(primary_state, secondary_state) != SwapType::kRevert) return false;
  MQOTA_TRY_ASSIGN(const bool source_gone, ImageHeaderErased(context.secondary, 0));
  if (!source_gone) return false;
  // Secondary first, primary last: until the primary magic is erased the
  // next boot still sees the stuck revert and comes back here; after it, the
  // running image boots as confirmed (no trailer) and takes new requests.
  MQOTA_TRY(secondary.EraseSectors());
  MQOTA_TRY(primary.EraseSectors());
  return true;
}

}  // namespace mqota::boot
