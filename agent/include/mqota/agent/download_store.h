// Where a download lands: the secondary slot, written granule by granule, with
// completion decided by a coverage bitmap (never by byte counts: R6) and a
// progress journal in flash so that a network drop, a reset or a power cut
// resumes the download instead of restarting it (R2).
//
// The image is cut into granules of `granule_bytes` (the chunk size; the last
// one may be shorter). Invariants that make every cut point recoverable:
// 1. A granule is journaled only after its bytes are in flash, so a journaled
//    granule is always present.
// 2. A sector is erased before the first granule of this download is written
//    into it, and a sector holding a journaled granule is never erased again
//    without first revoking its granules in the journal. So the only bytes
//    that can be dirty after a cut are those of granules not journaled.
// 3. On resume, a sector whose unjournaled bytes are not all erased (a write
//    was cut) has its granules revoked and is erased before reuse: at most the
//    granules of that sector are fetched again.
// The journal is a log in its own flash area of at least two sectors, split
// in two halves: a header naming the download (with a bitmap snapshot and a
// sequence number), then one entry per granule (or revocation), each alone in
// its write unit with a CRC. When a half is full the log is compacted into
// the other half, whose header only takes over once complete.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>

#include "mqota/base/result.h"
#include "mqota/delta/decoder.h"
#include "mqota/delta/format.h"
#include "mqota/flash/flash_area.h"
#include "mqota/image/format.h"

namespace mqota::agent {

// What identifies one download across resets: resume only continues the same
// image, cut the same way.
struct DownloadId {
  image::ImageVersion version;
  uint32_t total_size_bytes = 0;
  uint32_t granule_bytes = 0;
  // A tag the server gives the image (e.g. the first bytes of its digest), so
  // two builds with the same version and size are not mixed.
  std::array<uint8_t, 16> tag{};

  friend constexpr bool operator==(const DownloadId&, const DownloadId&) = default;
};

enum class DownloadErrc : uint8_t {
  kFlash,       // a flash operation failed; see `flash`
  kBadGranule,  // granule size 0, not a multiple of the write size, or too many granules
  kTooLarge,    // the image does not fit the slot (before its trailer)
  kBadIndex,    // granule index beyond the image
  kBadLength,   // data length is not the granule's length
  kNotStarted,  // Write before Begin
};

const char* Describe(DownloadErrc code);

struct DownloadError {
  DownloadErrc code{};
  flash::FlashError flash{};
};

enum class WriteOutcome : uint8_t { kWritten, kAlreadyPresent };

struct DownloadLimits {
  // The slot's usable size (slot minus the bootloader's trailer): the image
  // must fit below it, and the trailer sectors are erased at the start so the
  // app can mark the image pending.
  uint32_t usable_slot_bytes = 0;
};

// Where a patch download stands (docs/spec/progress-journal.md#patch-downloads):
// the patch's header, so that the decoder resumes without fetching it again,
// and the last checkpoint, before which every block is complete in the slot.
struct PatchProgress {
  std::array<uint8_t, delta::kPatchHeaderBytes> header{};
  delta::Checkpoint checkpoint;
};

class DownloadStore {
 public:
  // `bitmap` holds one bit per granule: its size bounds the granule count.
  DownloadStore(const flash::FlashArea& slot, const flash::FlashArea& journal,
                const DownloadLimits& limits, std::span<uint8_t> bitmap);

  // Starts `id`, or resumes it when the journal holds it. Returns the number of
  // granules already present. Errors: kBadGranule, kTooLarge, kFlash.
  Result<uint32_t, DownloadError> Begin(const DownloadId& id);

  // Stores granule `index` (data: exactly its length). Duplicates are not
  // written again (NOR flash cannot be rewritten without an erase).
  Result<WriteOutcome, DownloadError> Write(uint32_t index, std::span<const uint8_t> data);

  uint32_t granule_count() const { return granule_count_; }
  uint32_t present_count() const { return present_; }
  bool complete() const { return started_ && !patch_ && present_ == granule_count_; }
  bool IsPresent(uint32_t index) const;
  // The first missing granule at or after `from`, or granule_count().
  uint32_t NextMissing(uint32_t from) const;

  // A patch download: the delta decoder writes the slot, and the journal
  // keeps its PatchProgress instead of granules. `id` names the patch
  // (total_size_bytes: its length; granule_bytes: the chunk size; tag: its
  // digest). Returns the progress saved for this very patch, or nothing:
  // start from the patch's first byte (the slot's trailer sectors and the
  // journal are then erased). Errors: kBadGranule (the journal cannot hold
  // it), kFlash.
  Result<std::optional<PatchProgress>, DownloadError> BeginPatch(const DownloadId& id);
  // Persists `progress`; call it once a block is complete in flash, never
  // before. Errors: kNotStarted, kFlash.
  Result<void, DownloadError> SavePatchProgress(const PatchProgress& progress);

  // The download is over (verified and handed to the bootloader, or given
  // up): erases the journal so nothing resumes it.
  Result<void, DownloadError> Forget();

 private:
  Result<void, DownloadError> StartFresh();
  Result<void, DownloadError> EraseBeyondUsable();
  Result<bool, DownloadError> ReplayJournal(const DownloadId& id);
  Result<void, DownloadError> RevokeDirtySectors();
  Result<void, DownloadError> Append(uint16_t value);
  Result<void, DownloadError> AppendEntry(std::span<const uint8_t> entry);
  void TakeEntry(std::span<const uint8_t> entry);
  Result<void, DownloadError> ResetJournal();
  Result<void, DownloadError> Compact();
  Result<void, DownloadError> WriteHeader(uint32_t base, uint32_t sequence);
  Result<std::optional<uint32_t>, DownloadError> ReadHeader(uint32_t base, const DownloadId& id,
                                                            bool load_bitmap);
  Result<void, DownloadError> PrepareSectors(uint32_t offset, uint32_t length);
  bool SectorHasPresentGranule(uint32_t sector_offset, uint32_t sector_bytes) const;
  void SetPresent(uint32_t index, bool present);
  uint32_t GranuleLength(uint32_t index) const;
  uint32_t cell_bytes() const;
  uint32_t entry_bytes() const;
  bool JournalHoldsDownload() const;
  uint32_t record_bytes() const;
  // The header's record: the granule bitmap, or a patch's PatchProgress.
  std::span<uint8_t> Record();
  uint32_t header_bytes() const;
  uint32_t half_bytes() const;

  flash::FlashArea slot_;
  flash::FlashArea journal_;
  DownloadLimits limits_;
  std::span<uint8_t> bitmap_;
  DownloadId id_{};
  bool started_ = false;
  uint32_t granule_count_ = 0;
  uint32_t present_ = 0;
  uint32_t half_start_ = 0;  // the half holding the current log
  uint32_t sequence_ = 0;    // of the current half's header
  uint32_t next_cell_ = 0;   // journal offset of the next entry
  // A patch download: its PatchProgress, encoded as the header's record.
  bool patch_ = false;
  bool header_written_ = false;  // a patch's journal has no header before its first block
  std::array<uint8_t, delta::kPatchHeaderBytes + 8> patch_record_{};
};

}  // namespace mqota::agent
