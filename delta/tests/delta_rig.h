// A NOR chip with a primary and a secondary slot between two guard sectors,
// patches made by the host encoder, and an apply driven the way the agent
// will drive it: pieces of the patch in order, the source checked at the
// header, the checkpoint "persisted" at every block.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "mqota/base/endian.h"
#include "mqota/delta/decoder.h"
#include "mqota/delta/verify.h"
#include "mqota/flash/flash_area.h"
#include "mqota/ports/mbedtls/mbedtls_crypto.h"
#include "mqota/testing/random_bytes.h"
#include "mqota/testing/test_flash.h"

namespace mqota::delta::testing {

// What the agent would keep in its journal between resets.
struct Persisted {
  std::optional<PatchHeader> header;
  Checkpoint checkpoint;
};

struct ApplyOutcome {
  DeltaResult<void> result;
  size_t stopped_at = 0;  // patch offset of the next byte not consumed
};

// A target made from `source` the way a new release is: bytes changed in
// place, code moved by an insertion (with 16-bit "pointers" after it shifted),
// and new bytes at the end.
inline std::vector<uint8_t> Evolve(std::span<const uint8_t> source, uint32_t seed) {
  std::vector<uint8_t> target(source.begin(), source.end());
  for (size_t i = 97; i < target.size(); i += 1531) target[i] ^= 0x5a;
  const auto inserted = mqota::testing::PseudoRandomBytes(40, seed);
  const size_t at = target.size() / 3;
  target.insert(target.begin() + static_cast<std::ptrdiff_t>(at), inserted.begin(), inserted.end());
  // Denser after the middle: those blocks are range coded, the others stored.
  for (size_t i = at + 100; i + 1 < target.size(); i += i < target.size() / 2 ? 256 : 24) {
    target[i] = static_cast<uint8_t>(target[i] + 40);
  }
  // New bytes at the end: random ones, the first 60 of them again 700 bytes
  // later (a copy read back from flash, from the block before) and a unit
  // repeated (an overlapping copy from the write buffer).
  const auto tail = mqota::testing::PseudoRandomBytes(700, seed + 1);
  target.insert(target.end(), tail.begin(), tail.end());
  target.insert(target.end(), tail.begin(), tail.begin() + 60);
  const auto unit = mqota::testing::PseudoRandomBytes(30, seed + 2);
  for (int i = 0; i < 8; ++i) target.insert(target.end(), unit.begin(), unit.end());
  return target;
}

// Firmware-like: code (random bytes) followed by a literal pool of 32-bit
// little-endian addresses into the code, one per word. A release inserts
// `inserted` bytes of new code at `at`, which moves every address past it.
struct PoolPair {
  std::vector<uint8_t> source;
  std::vector<uint8_t> target;
  size_t moved_pointers = 0;
};

inline PoolPair InsertIntoCodeWithAPool(size_t code_bytes, size_t pointers, size_t at,
                                        size_t inserted) {
  constexpr uint32_t kBase = 0x08000000;
  PoolPair p;
  const auto code = mqota::testing::PseudoRandomBytes(code_bytes, 11);
  const auto picks = mqota::testing::PseudoRandomBytes(pointers * 2, 12);
  const auto pool = [&](size_t shift_from, size_t shift) {
    std::vector<uint8_t> bytes(pointers * 4);
    for (size_t i = 0; i < pointers; ++i) {
      const uint32_t offset = (LoadLe16(picks, i * 2) * 4u) % code_bytes;
      StoreLe32(bytes, i * 4, kBase + offset + (offset >= shift_from ? shift : 0));
    }
    return bytes;
  };
  p.source = code;
  const auto old_pool = pool(code_bytes, 0);
  p.source.insert(p.source.end(), old_pool.begin(), old_pool.end());
  p.target.assign(code.begin(), code.begin() + static_cast<std::ptrdiff_t>(at));
  const auto new_code = mqota::testing::PseudoRandomBytes(inserted, 13);
  p.target.insert(p.target.end(), new_code.begin(), new_code.end());
  p.target.insert(p.target.end(), code.begin() + static_cast<std::ptrdiff_t>(at), code.end());
  const auto new_pool = pool(at, inserted);
  p.target.insert(p.target.end(), new_pool.begin(), new_pool.end());
  for (size_t i = 0; i < pointers; ++i) {
    p.moved_pointers += LoadLe32(old_pool, i * 4) != LoadLe32(new_pool, i * 4) ? 1 : 0;
  }
  return p;
}

class DeltaRig {
 public:
  static constexpr uint32_t kSectorBytes = 512;
  static constexpr uint32_t kSlotSectors = 40;
  static constexpr uint8_t kGuard = 0xA5;

  DeltaRig(uint32_t write_alignment_bytes, uint8_t erased_value)
      : runs_{{{2 * kSlotSectors + 2, kSectorBytes}}},
        chip_(flash::FlashGeometry{runs_, write_alignment_bytes, erased_value}),
        primary_(chip_.model(), kSectorBytes, kSlotSectors * kSectorBytes),
        secondary_(chip_.model(), (kSlotSectors + 1) * kSectorBytes, kSlotSectors * kSectorBytes) {}

  // The source in the primary, stale bytes in the secondary, the guard
  // sectors full of kGuard.
  void Load(std::span<const uint8_t> source) {
    std::vector<uint8_t> all(chip_.ram().size_bytes(), kGuard);
    std::copy(source.begin(), source.end(), all.begin() + kSectorBytes);
    const auto stale = mqota::testing::PseudoRandomBytes(secondary_.size_bytes(), 99);
    std::copy(stale.begin(), stale.end(), all.begin() + secondary_.offset_bytes());
    if (!chip_.ram().Write(0, all).ok() || !chip_->ResyncFromBacking().ok()) std::abort();
  }

  ApplyOutcome Apply(std::span<const uint8_t> patch, Persisted& persisted, size_t piece_bytes) {
    Decoder decoder(primary_, secondary_);
    size_t at = 0;
    if (persisted.header) {
      const auto resumed = decoder.Resume(*persisted.header, persisted.checkpoint);
      if (!resumed.ok()) return {resumed.error(), at};
      at = persisted.checkpoint.patch_offset;
    } else {
      decoder.StartFresh();
    }
    // Bounded: every Feed call consumes a byte or reports an event, and the
    // number of events is bounded by the blocks.
    while (at < patch.size()) {
      auto piece = patch.subspan(at, std::min(piece_bytes, patch.size() - at));
      while (!piece.empty()) {
        const auto progress = decoder.Feed(piece);
        if (!progress.ok()) return {progress.error(), at};
        piece = piece.subspan(progress->consumed_bytes);
        at += progress->consumed_bytes;
        if (progress->event == FeedEvent::kHeaderParsed) {
          const auto source_ok = CheckSource(primary_, decoder.header(), crypto_);
          if (!source_ok.ok()) return {source_ok.error(), at};
          persisted.header = decoder.header();
          persisted.checkpoint = decoder.checkpoint();
        } else if (progress->event != FeedEvent::kNeedMore) {
          persisted.checkpoint = decoder.checkpoint();
        }
      }
    }
    if (!decoder.done()) return {DeltaError{DeltaErrc::kCorrupt}, at};
    return {CheckTarget(secondary_, decoder.header(), crypto_), at};
  }

  std::vector<uint8_t> SecondaryBytes(size_t size) const {
    const auto all = chip_.contents();
    const auto from = all.begin() + secondary_.offset_bytes();
    return {from, from + static_cast<std::ptrdiff_t>(size)};
  }
  // True when nothing outside the secondary slot changed.
  bool OutsideSecondaryIntact(std::span<const uint8_t> source) const {
    const auto all = chip_.contents();
    for (size_t i = 0; i < kSectorBytes; ++i) {
      if (all[i] != kGuard || all[all.size() - 1 - i] != kGuard) return false;
    }
    return std::equal(source.begin(), source.end(), all.begin() + kSectorBytes);
  }

  flash::NorFlashModel& model() { return chip_.model(); }
  const flash::FlashArea& primary() const { return primary_; }
  const flash::FlashArea& secondary() const { return secondary_; }

 private:
  std::array<flash::SectorRun, 1> runs_;
  flash::testing::OwnedNorFlash chip_;
  flash::FlashArea primary_;
  flash::FlashArea secondary_;
  ports::MbedtlsCrypto crypto_;
};

// Each block's place in the patch and how its body is sent, read from the
// framing the way the spec describes it (varint (length << 1) | coded, CRC,
// body).
struct BlockFrame {
  size_t offset = 0;
  size_t bytes = 0;
  bool coded = false;
};

inline std::vector<BlockFrame> BlockFrames(std::span<const uint8_t> patch, uint32_t block_count) {
  std::vector<BlockFrame> frames;
  size_t at = kPatchHeaderBytes;
  for (uint32_t b = 0; b < block_count && at < patch.size(); ++b) {
    BlockFrame frame{at, 0, false};
    uint32_t length = 0;
    for (int shift = 0; at < patch.size() && shift < 35; shift += 7) {
      const uint8_t byte = patch[at++];
      length |= uint32_t{byte & 0x7fu} << shift;
      if ((byte & 0x80u) == 0) break;
    }
    frame.coded = (length & 1u) != 0;
    at += kBlockCrcBytes + (length >> 1);
    frame.bytes = at - frame.offset;
    frames.push_back(frame);
  }
  return frames;
}

}  // namespace mqota::delta::testing
