#include "mqota/boot/swap_offset.h"

#include <algorithm>
#include <optional>

#include "mqota/boot/swap_type.h"
#include "slot_sectors.h"
#include "torn_cells.h"

namespace mqota::boot {
namespace {

// Values written into status entries: the half of a sector step just
// completed, as MCUboot's (1: the primary sector saved into the secondary;
// 2: the other image's sector written into the primary).
constexpr uint8_t kStatusState0 = 1;
constexpr uint8_t kStatusState1 = 2;

constexpr BootError kGeometryError{BootErrc::kBadGeometry, {}};

// The shape both slots share, once IsCompatible's conditions hold.
struct Layout {
  uint32_t sector_bytes;
  uint32_t primary_sectors;
  uint32_t secondary_sectors;
  uint32_t trailer_sectors;

  // Sectors the swap touches: at least one, so that even an empty copy runs
  // the trailer set-up and finishes like any other swap.
  uint32_t Sectors(uint32_t copy_size) const {
    return std::max<uint32_t>(1, (copy_size + sector_bytes - 1) / sector_bytes);
  }
  // The swap writes primary sectors 0..n-1 and secondary sectors 0..n (the
  // update sits one sector in): all below the trailer sectors.
  bool Fits(uint32_t copy_size) const {
    const uint32_t n = Sectors(copy_size);
    return n + trailer_sectors <= primary_sectors && n + 1 + trailer_sectors <= secondary_sectors;
  }
};

std::optional<Layout> ReadLayout(const SwapContext& context) {
  const Trailer primary(context.primary, context.trailer);
  const Trailer secondary(context.secondary, context.trailer);
  if (!primary.IsUsable() || !secondary.IsUsable()) return std::nullopt;
  const uint32_t primary_sectors = context.primary.sector_count();
  const uint32_t secondary_sectors = context.secondary.sector_count();
  if (primary_sectors == 0) return std::nullopt;
  if (secondary_sectors != primary_sectors && secondary_sectors != primary_sectors + 1) {
    return std::nullopt;
  }
  // Two status entries per primary sector: MCUboot sizes this mode's log for
  // max_sectors sectors.
  if (primary_sectors > context.trailer.max_sectors) return std::nullopt;
  const auto first = context.primary.SectorByIndex(0);
  if (!first || first->size_bytes == 0) return std::nullopt;
  const uint32_t sector_bytes = first->size_bytes;
  // Sector i of one slot goes to sector i or i+1 of the other: one size only.
  if (!UniformSectors(context.primary, sector_bytes) ||
      !UniformSectors(context.secondary, sector_bytes)) {
    return std::nullopt;
  }
  const uint32_t trailer_sectors =
      (context.trailer.trailer_bytes() + sector_bytes - 1) / sector_bytes;
  // Room for at least one image sector in each slot, plus the spare one.
  if (primary_sectors < trailer_sectors + 1 || secondary_sectors < trailer_sectors + 2) {
    return std::nullopt;
  }
  return Layout{sector_bytes, primary_sectors, secondary_sectors, trailer_sectors};
}

// As swap-move's: a GOOD secondary magic is a request (or a revert record)
// still pending there, so the primary trailer is at most half initialised;
// copy_done SET means the last swap finished.
bool PrimaryIsStatusSource(const TrailerState& primary, const TrailerState& secondary) {
  return primary.magic == MagicState::kGood && primary.copy_done == FlagState::kUnset &&
         secondary.magic != MagicState::kGood;
}

// The record a revert writes into the secondary before it re-initialises the
// primary trailer. No application request carries a swap_info.
bool IsRevertRecord(const TrailerState& secondary, uint8_t image_index) {
  return secondary.magic == MagicState::kGood && secondary.swap_type == SwapType::kRevert &&
         secondary.image_index == image_index && secondary.swap_size.has_value();
}

// One swap of `type` over `sectors` sectors, run from any point of its log.
class OffsetSwapper {
 public:
  OffsetSwapper(const SwapContext& context, const Layout& layout, SwapType type, uint32_t swap_size)
      : context_(context),
        layout_(layout),
        primary_(context.primary, context.trailer),
        secondary_(context.secondary, context.trailer),
        type_(type),
        swap_size_(swap_size),
        sectors_(layout.Sectors(swap_size)) {}

  uint32_t halves() const { return 2 * sectors_; }

  // The revert record (docs/spec/mcuboot-trailer.md#offset-revert-record). A
  // revert starts with the secondary trailer erased and the primary's
  // completed-test trailer as its only record; re-initialising the primary
  // trailer erases that record. With this one in place a cut before the new
  // primary trailer is whole restarts the revert (Resume), which moves bytes
  // in the opposite direction to an upgrade, so it cannot be a PERM request
  // as swap-move's fix-up is. Until the magic lands the primary still reads
  // GOOD/UNSET/SET and the next boot writes the record again.
  BootStatus WriteRevertRecord() {
    MQOTA_TRY(secondary_.EraseSectors());
    MQOTA_TRY(secondary_.WriteSwapInfo(SwapType::kRevert, context_.image_index));
    MQOTA_TRY(secondary_.WriteSwapSize(swap_size_));
    return secondary_.WriteMagic();
  }

  // Each half reads a sector that no earlier half has overwritten and that
  // only a later half overwrites, and its status entry follows its last
  // write: a cut anywhere repeats at most the half the log does not show as
  // done, from the same bytes.
  BootStatus Run(uint32_t halves_done, bool primary_is_source) {
    for (uint32_t half = halves_done; half < halves(); ++half) {
      if (half == 0) MQOTA_TRY(PrepareTrailers(primary_is_source));
      MQOTA_TRY(type_ == SwapType::kRevert ? RevertHalf(half) : UpgradeHalf(half));
      MQOTA_TRY(primary_.WriteStatusEntry(half, half % 2 == 0 ? kStatusState0 : kStatusState1));
    }
    if (type_ == SwapType::kRevert) {
      // Secondary sector 0 still holds the old image's first sector, which
      // looks like an image at offset 0; erased, the secondary holds only
      // the trial image, one sector in, as an update it is not (MCUboot does
      // the same). Redone harmlessly by a resume until copy_done lands.
      MQOTA_TRY(Check(context_.secondary.Erase(0, layout_.sector_bytes)));
    }
    return Finish();
  }

 private:
  uint32_t Offset(uint32_t sector) const { return sector * layout_.sector_bytes; }

  // Upgrade step i, from the bottom. First half: old sector i into secondary
  // i, which is free (the spare sector, or one whose new content went up in
  // step i-1). Second half: new sector i (secondary i+1) into primary i, whose
  // old content is now safe. Secondary i+1 is overwritten only by step i+1's
  // first half, so both halves redo from intact sources.
  BootStatus UpgradeHalf(uint32_t half) {
    const uint32_t i = half / 2;
    if (half % 2 == 0) return MoveSector(context_.primary, i, context_.secondary, i);
    return MoveSector(context_.secondary, i + 1, context_.primary, i);
  }

  // Revert step j, from the top (i = n-1-j). First half: trial sector i into
  // secondary i+1, free since step j-1 took its content (for j = 0, the
  // update's last sector, already in the primary). Second half: old sector i
  // (secondary i) back into primary i; secondary i is overwritten only by
  // step j+1's first half.
  BootStatus RevertHalf(uint32_t half) {
    const uint32_t i = sectors_ - 1 - half / 2;
    if (half % 2 == 0) return MoveSector(context_.primary, i, context_.secondary, i + 1);
    return MoveSector(context_.secondary, i, context_.primary, i);
  }

  BootStatus MoveSector(const flash::FlashArea& from, uint32_t from_sector,
                        const flash::FlashArea& to, uint32_t to_sector) {
    MQOTA_TRY(Check(to.Erase(Offset(to_sector), layout_.sector_bytes)));
    return CopyRegion(from, Offset(from_sector), to, Offset(to_sector), layout_.sector_bytes);
  }

  // The first half's set-up, as swap-move's (swap_move.cpp): the primary
  // trailer becomes the record of the swap, magic last
  // (docs/spec/mcuboot-trailer.md#rule-1-magic-last), while the secondary's
  // request (or revert record) keeps it from being the status source; erasing
  // the secondary trailer then hands the swap over to it. On a restart the
  // primary already is the source and must not be touched.
  BootStatus PrepareTrailers(bool primary_is_source) {
    if (!primary_is_source) {
      MQOTA_TRY(primary_.EraseSectors());
      MQOTA_TRY(primary_.WriteSwapInfo(type_, context_.image_index));
      // PERM carries image_ok from the request, REVERT ends confirmed.
      if (type_ != SwapType::kTest) MQOTA_TRY(primary_.WriteImageOk());
      MQOTA_TRY(primary_.WriteSwapSize(swap_size_));
      MQOTA_TRY(primary_.WriteMagic());
    }
    return secondary_.EraseSectors();
  }

 public:
  // A torn copy_done, mended through a repair record in the secondary
  // trailer exactly as swap-move does (SwapMove's RepairTornFinish and
  // CompleteRepair, docs/spec/mcuboot-trailer.md#torn-operations): a
  // finished swap leaves that trailer erased and no image byte in its
  // sectors.
  BootStatus RepairTornFinish() {
    MQOTA_TRY(secondary_.EraseSectors());
    MQOTA_TRY(secondary_.WriteSwapInfo(type_, context_.image_index));
    MQOTA_TRY(secondary_.WriteSwapSize(swap_size_));
    MQOTA_TRY(secondary_.WriteCopyDone());
    return CompleteRepair();
  }

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
  // image_ok before copy_done (docs/spec/mcuboot-trailer.md#rule-7-image_ok-before-copy_done).
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
  uint32_t sectors_;
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
  // The recorded size passed this check when the swap started; a failure
  // means a corrupted trailer, and moving by it could run into the trailer.
  if (!layout.Fits(*record.primary.swap_size)) return kGeometryError;
  OffsetSwapper swapper(context, layout, record.primary.swap_type, *record.primary.swap_size);
  uint32_t halves_done = 0;
  if (record.last_entry) {
    halves_done = *record.last_entry + 1;
    if (halves_done > swapper.halves()) return kGeometryError;
  }
  return swapper.Run(halves_done, /*primary_is_source=*/true);
}

// A finished swap whose copy_done write was torn (as swap-move's): the
// primary GOOD for a swap, its log complete, the copy_done cell written but
// not SET, and no request in the secondary.
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
  return last.has_value() && *last + 1 == 2 * layout.Sectors(*p.swap_size);
}

// A repair of a torn copy_done under way (see swap_move.cpp's Resume, whose
// reasoning this follows): finished, or to be completed from its record.
BootResult<std::optional<ResumeResult>> ResumeRepair(const SwapContext& context,
                                                     const Layout& layout, const Recorded& record) {
  if (record.secondary.magic != MagicState::kUnset ||
      record.secondary.copy_done == FlagState::kUnset) {
    return std::optional<ResumeResult>{};
  }
  if (record.primary.magic == MagicState::kGood && record.primary.copy_done == FlagState::kSet) {
    MQOTA_TRY(Trailer(context.secondary, context.trailer).EraseSectors());
    return std::optional<ResumeResult>{ResumeResult{
        ResumeKind::kCompleted, record.primary.swap_type, record.primary.swap_size.value_or(0)}};
  }
  if (!IsRepairRecord(record.secondary, context.image_index)) {
    // Its copy_done write was torn: the torn primary is still there.
    return std::optional<ResumeResult>{};
  }
  const SwapType type = record.secondary.swap_type;
  const uint32_t swap_size = *record.secondary.swap_size;
  if (!layout.Fits(swap_size)) return kGeometryError;
  MQOTA_TRY(OffsetSwapper(context, layout, type, swap_size).CompleteRepair());
  return std::optional<ResumeResult>{ResumeResult{ResumeKind::kCompleted, type, swap_size}};
}

}  // namespace

bool SwapOffset::IsCompatible(const SwapContext& context) const {
  return ReadLayout(context).has_value();
}

uint32_t SwapOffset::MaxImageSize(const SwapContext& context) const {
  const auto layout = ReadLayout(context);
  if (!layout) return 0;
  const uint32_t s = layout->sector_bytes;
  const uint32_t trailer = layout->trailer_sectors * s;
  // ReadLayout guarantees both differences are positive.
  return std::min(layout->primary_sectors * s - trailer,
                  layout->secondary_sectors * s - trailer - s);
}

uint32_t SwapOffset::SourceOffset(const SwapContext& context, SwapType type) const {
  const auto layout = ReadLayout(context);
  return layout && type != SwapType::kRevert ? layout->sector_bytes : 0;
}

uint32_t SwapOffset::MovedOutOffset(const SwapContext& context, SwapType type) const {
  const auto layout = ReadLayout(context);
  return layout && type == SwapType::kRevert ? layout->sector_bytes : 0;
}

BootResult<ResumeResult> SwapOffset::Resume(const SwapContext& context) {
  const auto layout = ReadLayout(context);
  if (!layout) return kGeometryError;
  MQOTA_TRY_ASSIGN(const Recorded record, ReadRecord(context));
  MQOTA_TRY_ASSIGN(const std::optional<ResumeResult> repaired,
                   ResumeRepair(context, *layout, record));
  if (repaired) return *repaired;
  MQOTA_TRY_ASSIGN(const bool torn_finish, FinishedWithTornCopyDone(context, *layout, record));
  if (torn_finish) {
    const SwapType type = record.primary.swap_type;
    const uint32_t swap_size = *record.primary.swap_size;
    MQOTA_TRY(OffsetSwapper(context, *layout, type, swap_size).RepairTornFinish());
    return ResumeResult{ResumeKind::kCompleted, type, swap_size};
  }
  if (IsRevertRecord(record.secondary, context.image_index)) {
    // Nothing has moved: the old image is still at the secondary's offset 0,
    // for the bootloader to validate again before the revert restarts.
    if (!layout->Fits(*record.secondary.swap_size)) return kGeometryError;
    return ResumeResult{ResumeKind::kRestartNeeded, SwapType::kRevert, *record.secondary.swap_size};
  }
  if (!RecordsSwap(record)) return ResumeResult{};
  const ResumeResult recorded{ResumeKind::kCompleted, record.primary.swap_type,
                              *record.primary.swap_size};
  if (!record.last_entry) {
    return ResumeResult{ResumeKind::kRestartNeeded, recorded.type, recorded.swap_size};
  }
  MQOTA_TRY(ContinueRecorded(context, *layout, record));
  return recorded;
}

BootStatus SwapOffset::Swap(const SwapContext& context, SwapType type, uint32_t copy_size) {
  const auto layout = ReadLayout(context);
  if (!layout || !IsSwap(type)) return kGeometryError;
  MQOTA_TRY_ASSIGN(const Recorded record, ReadRecord(context));
  if (RecordsSwap(record)) return ContinueRecorded(context, *layout, record);

  // Refused before any write, so the request stays and the primary boots.
  if (!layout->Fits(copy_size)) return kGeometryError;
  if (type == SwapType::kRevert && IsRevertRecord(record.secondary, context.image_index)) {
    // A restart: the record governs, as a resume after a cut would use it.
    copy_size = *record.secondary.swap_size;
    if (!layout->Fits(copy_size)) return kGeometryError;
    return OffsetSwapper(context, *layout, type, copy_size).Run(0, /*primary_is_source=*/false);
  }
  OffsetSwapper swapper(context, *layout, type, copy_size);
  if (type == SwapType::kRevert) {
    MQOTA_TRY_ASSIGN(const bool source_gone, ImageHeaderErased(context.secondary, 0));
    if (source_gone) {
      MQOTA_TRY(ClearStuckRevert(context));
      return {};
    }
    MQOTA_TRY(swapper.WriteRevertRecord());
  }
  return swapper.Run(0, /*primary_is_source=*/false);
}

BootResult<bool> SwapOffset::ClearStuckRevert(const SwapContext& context) const {
  if (!ReadLayout(context)) return kGeometryError;
  const Trailer primary(context.primary, context.trailer);
  const Trailer secondary(context.secondary, context.trailer);
  MQOTA_TRY_ASSIGN(const TrailerState primary_state, primary.Read());
  MQOTA_TRY_ASSIGN(const TrailerState secondary_state, secondary.Read());
  if (DecideSwapType(primary_state, secondary_state) != SwapType::kRevert) return false;
  MQOTA_TRY_ASSIGN(const bool source_gone, ImageHeaderErased(context.secondary, 0));
  if (!source_gone) return false;
  // Secondary first, primary last, as swap-move's (swap_move.h).
  MQOTA_TRY(secondary.EraseSectors());
  MQOTA_TRY(primary.EraseSectors());
  return true;
}

}  // namespace mqota::boot
