// NorFlashModel: NOR flash physics and power cuts, layered over a plain store.
//
// Every power-loss test of mqota runs the production code on this model. It is
// a decorator: reads, writes and erases go through to a backing FlashDevice
// with RAM semantics (RamFlash, FileFlash), while the model enforces what a real
// chip would do and lets a test cut the power at any operation.
//
// Rules (MCUboot's simflash, docs/spec/power-loss-testing.md#flash-model, plus
// torn operations):
// - Write-once: a write is refused with kNotErased, at the first offending
//   offset, if any byte of its range was written since that byte's last erase,
//   even if the new data would only clear bits or equals the old data. Nothing
//   is written. Every byte of an accepted write counts as written, including
//   bytes written with the erased value.
// - Misaligned writes and erases are refused by FlashDevice's checks.
// - Initial state comes from the backing content: a byte that reads as the
//   erased value is erased, any other byte counts as written.
// - Refusals are counted (counters().refused), so a test can demand that a
//   whole run broke no rule, even where the code under test ignored an error.
//
// Power cuts (docs/spec/power-loss-testing.md#power-cut-injection):
// CutPowerAfter(n) counts write and erase calls from the moment it is called;
// the first n go through, call n + 1 is
// the cut one. With TearMode::kNone the cut call does not happen at all; with
// kPrefix or kRandom it happens in part (see TearMode). The cut call and every
// later call, reads included, fail with kPowerLost until PowerOn(), which models
// the reset. A cut fires once; arm it again for the next one.
#pragma once

#include <cstdint>
#include <span>

#include "mqota/flash/flash_device.h"

namespace mqota::flash {

// What the cut operation leaves behind. All torn effects are drawn from a
// splitmix64 generator seeded by CutPowerAfter's seed: the same seed and the
// same sequence of operations give the same bytes, so a failing case re-runs.
enum class TearMode : uint8_t {
  // The cut call changes nothing: a reset between two operations.
  kNone,
  // A write stores the first L bytes of its data, L uniform in [0, size], and
  // leaves the rest untouched. An erase erases the first L bytes of its range.
  kPrefix,
  // A write leaves random bytes over its whole range. An erase leaves each byte
  // of its range either erased or as it was, at random.
  kRandom,
};
// After a torn write, the bytes it touched count as written (L bytes for
// kPrefix, the whole range for kRandom). After a torn erase, every byte of the
// range that reads as the erased value counts as erased, every other one as
// written.

struct NorFlashCounters {
  uint32_t reads = 0;   // read calls served while powered
  uint32_t writes = 0;  // write calls that reached the model while powered: done, refused or cut
  uint32_t erases = 0;  // erase calls, counted as writes are
  // Bytes stored by writes, including the bytes a torn write touched.
  uint64_t bytes_written = 0;
  // Calls refused for breaking a rule: kNotErased here, and kOutOfBounds,
  // kMisaligned, kNotSectorAligned from FlashDevice's checks (those never reach
  // `writes`/`erases`, nor the power-cut count).
  uint32_t refused = 0;
  // Calls that returned kPowerLost: the cut one and all later ones until PowerOn.
  uint32_t power_lost = 0;
};

class NorFlashModel final : public FlashDevice {
 public:
  // Size of the "written since erase" bitmap: one bit per byte of the device.
  static uint32_t BitmapBytes(const FlashGeometry& geometry);

  // `programmed_bitmap` must hold BitmapBytes(backing.geometry()) bytes; a
  // non-empty `erase_counts_per_sector` must hold one counter per sector (it is
  // zeroed here; empty: erase counts are not kept). Too small a span is a
  // programming mistake and traps. `backing` and both spans must outlive the
  // model. The backing must accept overwrites: torn operations rewrite parts of
  // its aligned units.
  NorFlashModel(FlashDevice& backing, std::span<uint8_t> programmed_bitmap,
                std::span<uint32_t> erase_counts_per_sector = {});

  // Power. CutPowerAfter replaces any cut armed before and does not turn the
  // power on; PowerOn does not disarm a cut that has not fired yet.
  void CutPowerAfter(uint32_t operations, TearMode tear = TearMode::kNone, uint64_t seed = 0);
  void CancelPowerCut() { cut_armed_ = false; }
  void PowerOn() { powered_ = true; }
  bool powered() const { return powered_; }
  bool power_cut_armed() const { return cut_armed_; }

  // True when the byte at `offset` was written since its last erase (false
  // outside the device).
  bool IsProgrammed(uint32_t offset) const;
  // Derives the written/erased state again from the backing content, for a
  // test that changed the backing directly. A byte that cannot be read counts
  // as written. Errors: those of the backing's Read (the first one).
  [[nodiscard]] FlashStatus ResyncFromBacking();

  const NorFlashCounters& counters() const { return counters_; }
  // Write and erase calls since construction or ResetCounters: run a scenario
  // once to learn its total, then cut at every k in [0, total).
  uint32_t operations() const { return counters_.writes + counters_.erases; }
  // Erases (torn ones included) of one sector; 0 when not kept.
  uint32_t erase_count(uint32_t sector_index) const;
  uint32_t max_erase_count() const { return max_erase_count_; }
  // Zeroes every counter, the per-sector erase counts included. Leaves the
  // flash content, the power state and an armed cut alone.
  void ResetCounters();

  FlashDevice& backing() const { return backing_; }

 private:
  FlashStatus DoRead(uint32_t offset, std::span<uint8_t> out) override;
  FlashStatus DoWrite(uint32_t offset, std::span<const uint8_t> data) override;
  FlashStatus DoErase(uint32_t offset, uint32_t size_bytes) override;
  void OnRefused(const FlashError& error) override;

  // True when this write/erase call is the one the armed cut falls on.
  bool TakeOperation();
  FlashError PowerLost(FlashOp op, uint32_t offset);
  FlashError CutPower(FlashOp op, uint32_t offset);
  void TearWrite(uint32_t offset, std::span<const uint8_t> data);
  void TearErase(uint32_t offset, uint32_t size_bytes);
  uint64_t NextRandom();

  // Rewrites [offset, offset + size_bytes) of the backing, byte i becoming
  // `next(i, old)`, in chunks aligned to the write alignment.
  template <typename Next>
  void RewriteBacking(uint32_t offset, uint32_t size_bytes, Next next);
  FlashStatus ResyncRange(uint32_t offset, uint32_t size_bytes);
  void MarkRange(uint32_t offset, uint32_t size_bytes, bool programmed);
  void MarkByte(uint32_t offset, bool programmed);
  // Offset of the first written byte in the range, or `offset + size_bytes`.
  uint32_t FirstProgrammed(uint32_t offset, uint32_t size_bytes) const;
  void CountErase(uint32_t offset, uint32_t size_bytes);

  FlashDevice& backing_;
  std::span<uint8_t> programmed_;
  std::span<uint32_t> erase_counts_;
  NorFlashCounters counters_;
  uint32_t max_erase_count_ = 0;

  bool powered_ = true;
  bool cut_armed_ = false;
  uint32_t operations_before_cut_ = 0;
  TearMode tear_ = TearMode::kNone;
  uint64_t random_state_ = 0;
};

}  // namespace mqota::flash
