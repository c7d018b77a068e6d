#include "mqota/agent/download_store.h"

#include <algorithm>
#include <optional>

#include "mqota/base/crc32c.h"
#include "mqota/base/endian.h"

namespace mqota::agent {
namespace {

constexpr uint32_t kJournalMagic = 0x4a44514d;  // "MQDJ"
constexpr uint8_t kJournalFormat = 1;
// A patch download's journal: the same halves and header, with a
// PatchProgress as the record and checkpoints as entries.
constexpr uint8_t kPatchJournalFormat = 2;
// format, reserved[3], total_size, granule_bytes, version (8), tag (16),
// bitmap_bytes (u16), reserved (u16), sequence (u32)
constexpr uint32_t kHeaderFieldsBytes = 44;
constexpr uint16_t kRevokeBit = 0x8000;
constexpr uint32_t kMaxGranules = 0x7fff;
// Reads and writes of the journal and of dirty-sector checks go through a
// small stack buffer: the agent runs on a few KiB of stack.
constexpr uint32_t kChunkBytes = 64;
constexpr uint32_t kEntryBytes = 8;
// A patch entry: u32 next block, u32 patch offset, u32 ~next block, u32
// CRC-32C of the first 12 bytes.
constexpr uint32_t kPatchEntryBytes = 16;
constexpr uint32_t kPatchRecordCheckpointAt = delta::kPatchHeaderBytes;

constexpr uint32_t AlignUp(uint32_t value, uint32_t align) {
  return (value + align - 1) / align * align;
}

DownloadError FlashError(flash::FlashError error) { return {DownloadErrc::kFlash, error}; }

Result<void, DownloadError> Check(flash::FlashStatus status) {
  if (!status.ok()) return FlashError(status.error());
  return {};
}

}  // namespace

const char* Describe(DownloadErrc code) {
  switch (code) {
    case DownloadErrc::kFlash: return "a flash operation failed";
    case DownloadErrc::kBadGranule: return "the chunk size does not suit this flash or slot";
    case DownloadErrc::kTooLarge: return "the image does not fit the slot";
    case DownloadErrc::kBadIndex: return "chunk index beyond the image";
    case DownloadErrc::kBadLength: return "chunk length does not match its place in the image";
    case DownloadErrc::kNotStarted: return "no download in progress";
  }
  return "unknown download error";
}

DownloadStore::DownloadStore(const flash::FlashArea& slot, const flash::FlashArea& journal,
                             const DownloadLimits& limits, std::span<uint8_t> bitmap)
    : slot_(slot), journal_(journal), limits_(limits), bitmap_(bitmap) {}

// An entry: u16 value, u16 ~value, u32 CRC-32C of both. A torn write of
// random bytes passes that check once in 2^48, not once in 2^16, so it cannot
// plausibly claim a granule that was never written.
uint32_t DownloadStore::cell_bytes() const {
  return AlignUp(kEntryBytes, journal_.write_alignment_bytes());
}

uint32_t DownloadStore::entry_bytes() const {
  return patch_ ? AlignUp(kPatchEntryBytes, journal_.write_alignment_bytes()) : cell_bytes();
}

uint32_t DownloadStore::record_bytes() const {
  return patch_ ? static_cast<uint32_t>(patch_record_.size()) : (granule_count_ + 7) / 8;
}

std::span<uint8_t> DownloadStore::Record() {
  return patch_ ? std::span<uint8_t>(patch_record_) : bitmap_.first(record_bytes());
}

// Two halves, each whole sectors, each with room for the header and a few
// entries of the current download (granules or patch checkpoints).
bool DownloadStore::JournalHoldsDownload() const {
  const auto middle = journal_.SectorContaining(half_bytes());
  return journal_.sector_count() >= 2 && middle && middle->offset_bytes == half_bytes() &&
         header_bytes() + entry_bytes() * 4 <= half_bytes();
}

uint32_t DownloadStore::half_bytes() const { return journal_.size_bytes() / 2; }

uint32_t DownloadStore::header_bytes() const {
  return cell_bytes() +
         AlignUp(kHeaderFieldsBytes + record_bytes() + 4, journal_.write_alignment_bytes());
}

uint32_t DownloadStore::GranuleLength(uint32_t index) const {
  const uint32_t offset = index * id_.granule_bytes;
  return std::min(id_.granule_bytes, id_.total_size_bytes - offset);
}

bool DownloadStore::IsPresent(uint32_t index) const {
  return index < granule_count_ && (bitmap_[index / 8] >> (index % 8)) & 1;
}

void DownloadStore::SetPresent(uint32_t index, bool present) {
  if (IsPresent(index) == present) return;
  bitmap_[index / 8] = static_cast<uint8_t>(bitmap_[index / 8] ^ (1u << (index % 8)));
  present_ = present ? present_ + 1 : present_ - 1;
}

uint32_t DownloadStore::NextMissing(uint32_t from) const {
  for (uint32_t i = from; i < granule_count_; ++i) {
    if (!IsPresent(i)) return i;
  }
  return granule_count_;
}

Result<uint32_t, DownloadError> DownloadStore::Begin(const DownloadId& id) {
  started_ = false;
  patch_ = false;
  const uint32_t w = std::max(slot_.write_alignment_bytes(), journal_.write_alignment_bytes());
  if (id.granule_bytes == 0 || id.granule_bytes % w != 0 || id.total_size_bytes == 0) {
    return DownloadError{DownloadErrc::kBadGranule};
  }
  if (id.total_size_bytes > limits_.usable_slot_bytes ||
      limits_.usable_slot_bytes > slot_.size_bytes()) {
    return DownloadError{DownloadErrc::kTooLarge};
  }
  const uint32_t count = (id.total_size_bytes + id.granule_bytes - 1) / id.granule_bytes;
  if (count > kMaxGranules || (count + 7) / 8 > bitmap_.size()) {
    return DownloadError{DownloadErrc::kBadGranule};
  }
  id_ = id;
  granule_count_ = count;
  if (!JournalHoldsDownload()) return DownloadError{DownloadErrc::kBadGranule};
  MQOTA_TRY_ASSIGN(const bool resumed, ReplayJournal(id));
  if (resumed) {
    MQOTA_TRY(RevokeDirtySectors());
  } else {
    MQOTA_TRY(StartFresh());
  }
  started_ = true;
  return present_;
}

Result<std::optional<PatchProgress>, DownloadError> DownloadStore::BeginPatch(
    const DownloadId& id) {
  started_ = false;
  patch_ = true;
  header_written_ = false;
  granule_count_ = 0;
  present_ = 0;
  if (id.total_size_bytes == 0 || id.granule_bytes == 0) {
    return DownloadError{DownloadErrc::kBadGranule};
  }
  if (limits_.usable_slot_bytes > slot_.size_bytes()) {
    return DownloadError{DownloadErrc::kTooLarge};
  }
  id_ = id;
  if (!JournalHoldsDownload()) return DownloadError{DownloadErrc::kBadGranule};
  MQOTA_TRY_ASSIGN(const bool resumed, ReplayJournal(id));
  if (!resumed) {
    // Nothing to resume until the first block is complete: the header, with
    // the patch's header in its record, is written with the first
    // checkpoint. The decoder erases each block's sectors itself.
    std::fill(patch_record_.begin(), patch_record_.end(), 0);
    MQOTA_TRY(EraseBeyondUsable());
    MQOTA_TRY(Check(journal_.Erase(0, journal_.size_bytes())));
    half_start_ = 0;
    sequence_ = 1;
    next_cell_ = header_bytes();
    started_ = true;
    return std::optional<PatchProgress>{};
  }
  header_written_ = true;
  started_ = true;
  PatchProgress progress;
  std::copy_n(patch_record_.begin(), progress.header.size(), progress.header.begin());
  progress.checkpoint.next_block = LoadLe32(patch_record_, kPatchRecordCheckpointAt);
  progress.checkpoint.patch_offset = LoadLe32(patch_record_, kPatchRecordCheckpointAt + 4);
  return std::optional<PatchProgress>{progress};
}

Result<void, DownloadError> DownloadStore::SavePatchProgress(const PatchProgress& progress) {
  if (!started_ || !patch_) return DownloadError{DownloadErrc::kNotStarted};
  std::copy(progress.header.begin(), progress.header.end(), patch_record_.begin());
  StoreLe32(patch_record_, kPatchRecordCheckpointAt, progress.checkpoint.next_block);
  StoreLe32(patch_record_, kPatchRecordCheckpointAt + 4, progress.checkpoint.patch_offset);
  if (!header_written_) {
    MQOTA_TRY(WriteHeader(half_start_, sequence_));
    header_written_ = true;
    next_cell_ = half_start_ + header_bytes();
    return {};
  }
  std::array<uint8_t, kPatchEntryBytes> entry{};
  StoreLe32(entry, 0, progress.checkpoint.next_block);
  StoreLe32(entry, 4, progress.checkpoint.patch_offset);
  StoreLe32(entry, 8, ~progress.checkpoint.next_block);
  StoreLe32(entry, 12, Crc32c(std::span(entry).first(12)));
  return AppendEntry(entry);
}

Result<void, DownloadError> DownloadStore::StartFresh() {
  std::fill(bitmap_.begin(), bitmap_.end(), 0);
  present_ = 0;
  MQOTA_TRY(EraseBeyondUsable());
  return ResetJournal();
}

// The bootloader's trailer must read erased for SetPending to write it;
// image sectors are erased one by one when first written.
Result<void, DownloadError> DownloadStore::EraseBeyondUsable() {
  for (uint32_t i = 0; i < slot_.sector_count(); ++i) {
    const auto sector = slot_.SectorByIndex(i);
    if (sector->offset_bytes + sector->size_bytes > limits_.usable_slot_bytes) {
      MQOTA_TRY(Check(slot_.Erase(sector->offset_bytes, sector->size_bytes)));
    }
  }
  return {};
}

// Writes a fresh journal: both halves erased, a header in the first.
Result<void, DownloadError> DownloadStore::ResetJournal() {
  MQOTA_TRY(Check(journal_.Erase(0, journal_.size_bytes())));
  half_start_ = 0;
  sequence_ = 1;
  MQOTA_TRY(WriteHeader(half_start_, sequence_));
  next_cell_ = half_start_ + header_bytes();
  return {};
}

// The log's half is full: write a header with the whole bitmap and the next
// sequence number into the other half, then erase the old half. Until the new
// header's magic (written last) lands, the old half is the journal; from then
// on the new one is, since readers take the valid header with the higher
// sequence. No cut point loses more than the entry being written.
Result<void, DownloadError> DownloadStore::Compact() {
  const uint32_t old_half = half_start_;
  const uint32_t target = old_half == 0 ? half_bytes() : 0;
  MQOTA_TRY(Check(journal_.Erase(target, half_bytes())));
  MQOTA_TRY(WriteHeader(target, sequence_ + 1));
  MQOTA_TRY(Check(journal_.Erase(old_half, half_bytes())));
  half_start_ = target;
  ++sequence_;
  next_cell_ = half_start_ + header_bytes();
  return {};
}

// Header at `base`: a magic cell (written last), then the fields, the bitmap
// and a CRC-32C over both, in whole write units.
Result<void, DownloadError> DownloadStore::WriteHeader(uint32_t base, uint32_t sequence) {
  const uint8_t erased = journal_.erased_value();
  const std::span<uint8_t> record = Record();
  const auto record_size = static_cast<uint32_t>(record.size());
  const uint32_t body_bytes = header_bytes() - cell_bytes();
  std::array<uint8_t, kHeaderFieldsBytes> fields{};
  fields[0] = patch_ ? kPatchJournalFormat : kJournalFormat;
  StoreLe32(fields, 4, id_.total_size_bytes);
  StoreLe32(fields, 8, id_.granule_bytes);
  fields[12] = id_.version.major;
  fields[13] = id_.version.minor;
  StoreLe16(fields, 14, id_.version.revision);
  StoreLe32(fields, 16, id_.version.build);
  std::copy(id_.tag.begin(), id_.tag.end(), fields.begin() + 20);
  StoreLe16(fields, 36, static_cast<uint16_t>(record_size));
  StoreLe32(fields, 40, sequence);
  const uint32_t crc_at = kHeaderFieldsBytes + record_size;
  const uint32_t crc = Crc32c(record, Crc32c(fields));
  auto body_byte = [&](uint32_t i) -> uint8_t {
    if (i < kHeaderFieldsBytes) return fields[i];
    if (i < crc_at) return record[i - kHeaderFieldsBytes];
    if (i < crc_at + 4) return static_cast<uint8_t>(crc >> (8 * (i - crc_at)));
    return erased;
  };
  // Written in chunks: the body can exceed the stack buffer.
  std::array<uint8_t, kChunkBytes> chunk{};
  for (uint32_t at = 0; at < body_bytes; at += kChunkBytes) {
    const uint32_t n = std::min(kChunkBytes, body_bytes - at);
    for (uint32_t i = 0; i < n; ++i) chunk[i] = body_byte(at + i);
    MQOTA_TRY(Check(journal_.Write(base + cell_bytes() + at, std::span(chunk).first(n))));
  }
  std::array<uint8_t, 32> magic{};
  std::fill(magic.begin(), magic.end(), erased);
  StoreLe32(magic, 0, kJournalMagic);
  return Check(journal_.Write(base, std::span(magic).first(cell_bytes())));
}

// The sequence number of a valid header at `base` naming `id`; with
// `load_bitmap`, also its record into Record().
Result<std::optional<uint32_t>, DownloadError> DownloadStore::ReadHeader(uint32_t base,
                                                                         const DownloadId& id,
                                                                         bool load_bitmap) {
  std::array<uint8_t, kChunkBytes> chunk{};
  MQOTA_TRY(Check(journal_.Read(base, std::span(chunk).first(4))));
  if (LoadLe32(chunk, 0) != kJournalMagic) return std::optional<uint32_t>{};
  // The CRC is computed over this download's record length: a header with
  // another (another kind of download, another granule count) fails it or
  // the length check below.
  const std::span<uint8_t> record = Record();
  const auto record_size = static_cast<uint32_t>(record.size());
  const uint32_t crc_at = kHeaderFieldsBytes + record_size;
  std::array<uint8_t, kHeaderFieldsBytes> fields{};
  uint32_t crc = 0;
  uint32_t stored_crc = 0;
  for (uint32_t at = 0; at < crc_at + 4; at += kChunkBytes) {
    const uint32_t n = std::min(kChunkBytes, crc_at + 4 - at);
    MQOTA_TRY(Check(journal_.Read(base + cell_bytes() + at, std::span(chunk).first(n))));
    for (uint32_t i = 0; i < n; ++i) {
      const uint32_t pos = at + i;
      if (pos < crc_at) crc = Crc32c(std::span(&chunk[i], 1), crc);
      if (pos < kHeaderFieldsBytes) {
        fields[pos] = chunk[i];
      } else if (pos < crc_at) {
        if (load_bitmap) record[pos - kHeaderFieldsBytes] = chunk[i];
      } else {
        stored_crc |= static_cast<uint32_t>(chunk[i]) << (8 * (pos - crc_at));
      }
    }
  }
  DownloadId stored;
  stored.total_size_bytes = LoadLe32(fields, 4);
  stored.granule_bytes = LoadLe32(fields, 8);
  stored.version = {fields[12], fields[13], LoadLe16(fields, 14), LoadLe32(fields, 16)};
  std::copy(fields.begin() + 20, fields.begin() + 36, stored.tag.begin());
  const uint8_t format = patch_ ? kPatchJournalFormat : kJournalFormat;
  if (crc != stored_crc || fields[0] != format || LoadLe16(fields, 36) != record_size ||
      !(stored == id)) {
    return std::optional<uint32_t>{};
  }
  return std::optional<uint32_t>{LoadLe32(fields, 40)};
}

// Rebuilds the bitmap from the journal when it holds `id`.
Result<bool, DownloadError> DownloadStore::ReplayJournal(const DownloadId& id) {
  MQOTA_TRY_ASSIGN(const std::optional<uint32_t> first, ReadHeader(0, id, false));
  MQOTA_TRY_ASSIGN(const std::optional<uint32_t> second, ReadHeader(half_bytes(), id, false));
  if (!first && !second) return false;
  half_start_ = (second && (!first || *second > *first)) ? half_bytes() : 0;
  sequence_ = half_start_ == 0 ? *first : *second;
  MQOTA_TRY(ReadHeader(half_start_, id, true));
  present_ = 0;
  for (uint32_t i = 0; i < granule_count_; ++i) present_ += IsPresent(i) ? 1 : 0;

  // Entries: every cell of the half (an erased cell is skipped, not the end:
  // a cut can leave one between valid entries).
  std::array<uint8_t, kPatchEntryBytes> entry{};
  const std::span<uint8_t> used = std::span(entry).first(patch_ ? kPatchEntryBytes : kEntryBytes);
  const uint32_t cell = entry_bytes();
  const uint32_t end = half_start_ + half_bytes();
  uint32_t last_used = 0;
  bool any_used = false;
  for (uint32_t at = half_start_ + header_bytes(); at + cell <= end; at += cell) {
    MQOTA_TRY(Check(journal_.Read(at, used)));
    if (std::all_of(used.begin(), used.end(),
                    [&](uint8_t b) { return b == journal_.erased_value(); })) {
      continue;
    }
    any_used = true;
    last_used = at;
    TakeEntry(used);
  }
  // The cell after the last written one may hold a torn write that reads
  // erased: NOR cannot be programmed twice, so leave it unused.
  next_cell_ = any_used ? last_used + 2 * cell : half_start_ + header_bytes() + cell;
  if (next_cell_ > end) next_cell_ = end;  // full: the next Append compacts
  return true;
}

// One entry read back: a granule's mark (or revocation), or a patch's
// checkpoint. A torn entry fails its check and is skipped: its granule is
// fetched again, or the previous checkpoint stands.
void DownloadStore::TakeEntry(std::span<const uint8_t> entry) {
  if (patch_) {
    const uint32_t next_block = LoadLe32(entry, 0);
    if (LoadLe32(entry, 8) != ~next_block || Crc32c(entry.first(12)) != LoadLe32(entry, 12)) {
      return;
    }
    StoreLe32(patch_record_, kPatchRecordCheckpointAt, next_block);
    StoreLe32(patch_record_, kPatchRecordCheckpointAt + 4, LoadLe32(entry, 4));
    return;
  }
  const uint16_t value = LoadLe16(entry, 0);
  const bool valid = static_cast<uint16_t>(~value) == LoadLe16(entry, 2) &&
                     Crc32c(entry.first(4)) == LoadLe32(entry, 4);
  if (!valid) return;
  const uint32_t index = value & ~kRevokeBit;
  if (index < granule_count_) SetPresent(index, (value & kRevokeBit) == 0);
}

bool DownloadStore::SectorHasPresentGranule(uint32_t sector_offset, uint32_t sector_bytes) const {
  const uint32_t first = sector_offset / id_.granule_bytes;
  const uint32_t end = std::min(
      granule_count_, (sector_offset + sector_bytes + id_.granule_bytes - 1) / id_.granule_bytes);
  for (uint32_t i = first; i < end; ++i) {
    if (IsPresent(i)) return true;
  }
  return false;
}

// Invariant 3: a sector with journaled granules must hold erased bytes
// wherever no journaled granule lies, or a later write there would hit
// programmed bytes. If it does not (a write was cut), its granules are
// revoked, and the next write into it erases it first.
Result<void, DownloadError> DownloadStore::RevokeDirtySectors() {
  std::array<uint8_t, kChunkBytes> chunk{};
  for (uint32_t s = 0; s < slot_.sector_count(); ++s) {
    const auto sector = slot_.SectorByIndex(s);
    if (sector->offset_bytes >= id_.total_size_bytes) break;
    if (!SectorHasPresentGranule(sector->offset_bytes, sector->size_bytes)) continue;
    bool dirty = false;
    const uint32_t end = sector->offset_bytes + sector->size_bytes;
    for (uint32_t at = sector->offset_bytes; at < end && !dirty;) {
      const uint32_t index = at / id_.granule_bytes;
      const uint32_t granule_end = std::min(end, (index + 1) * id_.granule_bytes);
      if (index < granule_count_ && IsPresent(index)) {
        at = granule_end;
        continue;
      }
      for (uint32_t pos = at; pos < granule_end && !dirty; pos += kChunkBytes) {
        const uint32_t n = std::min(kChunkBytes, granule_end - pos);
        MQOTA_TRY(Check(slot_.Read(pos, std::span(chunk).first(n))));
        dirty = !std::all_of(chunk.begin(), chunk.begin() + n,
                             [&](uint8_t b) { return b == slot_.erased_value(); });
      }
      at = granule_end;
    }
    if (!dirty) continue;
    const uint32_t first = sector->offset_bytes / id_.granule_bytes;
    for (uint32_t i = first; i < granule_count_ && i * id_.granule_bytes < end; ++i) {
      if (!IsPresent(i)) continue;
      MQOTA_TRY(Append(static_cast<uint16_t>(i | kRevokeBit)));
      SetPresent(i, false);
    }
  }
  return {};
}

Result<void, DownloadError> DownloadStore::Append(uint16_t value) {
  std::array<uint8_t, kEntryBytes> entry{};
  StoreLe16(entry, 0, value);
  StoreLe16(entry, 2, static_cast<uint16_t>(~value));
  StoreLe32(entry, 4, Crc32c(std::span(entry).first(4)));
  return AppendEntry(entry);
}

// One entry alone in its cell (padded with the erased value), compacting
// first when the half is full.
Result<void, DownloadError> DownloadStore::AppendEntry(std::span<const uint8_t> entry) {
  const uint32_t cell = entry_bytes();
  if (next_cell_ + cell > half_start_ + half_bytes()) MQOTA_TRY(Compact());
  std::array<uint8_t, 32> bytes{};
  std::fill(bytes.begin(), bytes.end(), journal_.erased_value());
  std::copy(entry.begin(), entry.end(), bytes.begin());
  MQOTA_TRY(Check(journal_.Write(next_cell_, std::span(bytes).first(cell))));
  next_cell_ += cell;
  return {};
}

// Invariant 2: erase each sector the range touches that holds no journaled
// granule (its content is stale, or was cut mid-write); never one that does.
Result<void, DownloadError> DownloadStore::PrepareSectors(uint32_t offset, uint32_t length) {
  for (uint32_t at = offset; at < offset + length;) {
    const auto sector = slot_.SectorContaining(at);
    if (!sector) return DownloadError{DownloadErrc::kTooLarge};
    if (!SectorHasPresentGranule(sector->offset_bytes, sector->size_bytes)) {
      MQOTA_TRY(Check(slot_.Erase(sector->offset_bytes, sector->size_bytes)));
    }
    at = sector->offset_bytes + sector->size_bytes;
  }
  return {};
}

Result<WriteOutcome, DownloadError> DownloadStore::Write(uint32_t index,
                                                         std::span<const uint8_t> data) {
  if (!started_) return DownloadError{DownloadErrc::kNotStarted};
  if (index >= granule_count_) return DownloadError{DownloadErrc::kBadIndex};
  if (data.size() != GranuleLength(index)) return DownloadError{DownloadErrc::kBadLength};
  if (IsPresent(index)) return WriteOutcome::kAlreadyPresent;
  const uint32_t offset = index * id_.granule_bytes;
  const uint32_t w = slot_.write_alignment_bytes();
  MQOTA_TRY(PrepareSectors(offset, static_cast<uint32_t>(data.size())));
  // Whole write units; the last granule's tail is padded with the erased value.
  const uint32_t whole = static_cast<uint32_t>(data.size()) / w * w;
  if (whole > 0) MQOTA_TRY(Check(slot_.Write(offset, data.first(whole))));
  if (whole < data.size()) {
    std::array<uint8_t, 32> tail{};
    std::fill(tail.begin(), tail.end(), slot_.erased_value());
    std::copy(data.begin() + whole, data.end(), tail.begin());
    MQOTA_TRY(Check(slot_.Write(offset + whole, std::span(tail).first(w))));
  }
  // Invariant 1: journaled only once the bytes are in flash.
  MQOTA_TRY(Append(static_cast<uint16_t>(index)));
  SetPresent(index, true);
  return WriteOutcome::kWritten;
}

Result<void, DownloadError> DownloadStore::Forget() {
  started_ = false;
  return Check(journal_.Erase(0, journal_.size_bytes()));
}

}  // namespace mqota::agent
