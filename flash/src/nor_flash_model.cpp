#include "mqota/flash/nor_flash_model.h"

#include <algorithm>
#include <array>

namespace mqota::flash {
namespace {

// Chunk for reading the backing and rewriting it in torn operations: a multiple
// of every supported write alignment (1..32), so chunks starting at an aligned
// offset stay aligned.
constexpr uint32_t kChunkBytes = 64;

uint32_t RoundUp(uint32_t value, uint32_t multiple) {
  return (value + multiple - 1) / multiple * multiple;
}

// Uniform in [0, max] from 32 random bits, by multiplication (Lemire) rather
// than a 64-bit modulo, which is a library call on a Cortex-M4.
uint32_t UpTo(uint64_t random, uint32_t max) {
  return static_cast<uint32_t>(((random >> 32) * (uint64_t{max} + 1)) >> 32);
}

}  // namespace

uint32_t NorFlashModel::BitmapBytes(const FlashGeometry& geometry) {
  return static_cast<uint32_t>((uint64_t{geometry.size_bytes()} + 7) / 8);
}

NorFlashModel::NorFlashModel(FlashDevice& backing, std::span<uint8_t> programmed_bitmap,
                             std::span<uint32_t> erase_counts_per_sector)
    : FlashDevice(backing.geometry()),
      backing_(backing),
      programmed_(programmed_bitmap),
      erase_counts_(erase_counts_per_sector) {
  // Smaller spans would make every later bitmap or counter access an
  // out-of-bounds write into someone else's memory.
  if (programmed_.size() < (uint64_t{size_bytes()} + 7) / 8) __builtin_trap();
  if (!erase_counts_.empty()) {
    const uint32_t sectors = size_bytes() == 0 ? 0 : geometry().sector_count();
    if (erase_counts_.size() < sectors) __builtin_trap();
    erase_counts_ = erase_counts_.first(sectors);
  }
  ResetCounters();
  // A read failure leaves the bytes counted as written, which refuses writes
  // there; that is loud enough for a test, and a constructor has no other way
  // to report it.
  (void)ResyncFromBacking();
}

void NorFlashModel::CutPowerAfter(uint32_t operations, TearMode tear, uint64_t seed) {
  cut_armed_ = true;
  operations_before_cut_ = operations;
  tear_ = tear;
  random_state_ = seed;
}

bool NorFlashModel::IsProgrammed(uint32_t offset) const {
  if (offset >= size_bytes()) return false;
  return (programmed_[offset / 8] >> (offset % 8)) & 1u;
}

FlashStatus NorFlashModel::ResyncFromBacking() { return ResyncRange(0, size_bytes()); }

uint32_t NorFlashModel::erase_count(uint32_t sector_index) const {
  return sector_index < erase_counts_.size() ? erase_counts_[sector_index] : 0;
}

void NorFlashModel::ResetCounters() {
  counters_ = {};
  max_erase_count_ = 0;
  std::fill(erase_counts_.begin(), erase_counts_.end(), 0u);
}

FlashStatus NorFlashModel::DoRead(uint32_t offset, std::span<uint8_t> out) {
  if (!powered_) return PowerLost(FlashOp::kRead, offset);
  ++counters_.reads;
  return backing_.Read(offset, out);
}

FlashStatus NorFlashModel::DoWrite(uint32_t offset, std::span<const uint8_t> data) {
  if (!powered_) return PowerLost(FlashOp::kWrite, offset);
  ++counters_.writes;
  const bool cut = TakeOperation();
  const auto size = static_cast<uint32_t>(data.size());
  const uint32_t first_programmed = FirstProgrammed(offset, size);
  if (first_programmed != offset + size) {
    // Refused whole: a chip would AND the data into the written bytes, but a
    // second write is a bug in the code under test, not something to model.
    ++counters_.refused;
    if (cut) return CutPower(FlashOp::kWrite, offset);
    return FlashError{FlashErrc::kNotErased, FlashOp::kWrite, first_programmed};
  }
  if (cut) {
    TearWrite(offset, data);
    return CutPower(FlashOp::kWrite, offset);
  }
  // Even when the backing fails, some bytes may have been stored: counting all
  // of them as written keeps the write-once rule on the safe side.
  MarkRange(offset, size, true);
  MQOTA_TRY(backing_.Write(offset, data));
  counters_.bytes_written += size;
  return {};
}

FlashStatus NorFlashModel::DoErase(uint32_t offset, uint32_t size_bytes) {
  if (!powered_) return PowerLost(FlashOp::kErase, offset);
  ++counters_.erases;
  if (TakeOperation()) {
    TearErase(offset, size_bytes);
    return CutPower(FlashOp::kErase, offset);
  }
  CountErase(offset, size_bytes);
  if (FlashStatus erased = backing_.Erase(offset, size_bytes); !erased.ok()) {
    // Unknown how far the backing got: believe what it reads back.
    (void)ResyncRange(offset, size_bytes);
    return erased;
  }
  MarkRange(offset, size_bytes, false);
  return {};
}

void NorFlashModel::OnRefused(const FlashError& /*error*/) { ++counters_.refused; }

bool NorFlashModel::TakeOperation() {
  if (!cut_armed_) return false;
  if (operations_before_cut_ == 0) return true;
  --operations_before_cut_;
  return false;
}

FlashError NorFlashModel::PowerLost(FlashOp op, uint32_t offset) {
  ++counters_.power_lost;
  return FlashError{FlashErrc::kPowerLost, op, offset};
}

FlashError NorFlashModel::CutPower(FlashOp op, uint32_t offset) {
  powered_ = false;
  cut_armed_ = false;
  return PowerLost(op, offset);
}

void NorFlashModel::TearWrite(uint32_t offset, std::span<const uint8_t> data) {
  const auto size = static_cast<uint32_t>(data.size());
  uint32_t touched = 0;
  switch (tear_) {
    case TearMode::kNone: return;
    case TearMode::kPrefix:
      touched = UpTo(NextRandom(), size);
      RewriteBacking(offset, RoundUp(touched, geometry().write_alignment_bytes),
                     [&](uint32_t i, uint8_t old) { return i < touched ? data[i] : old; });
      break;
    case TearMode::kRandom:
      touched = size;
      RewriteBacking(offset, size,
                     [&](uint32_t, uint8_t) { return static_cast<uint8_t>(NextRandom()); });
      break;
  }
  MarkRange(offset, touched, true);
  counters_.bytes_written += touched;
}

void NorFlashModel::TearErase(uint32_t offset, uint32_t size_bytes) {
  const uint8_t erased = geometry().erased_value;
  switch (tear_) {
    case TearMode::kNone: return;
    case TearMode::kPrefix: {
      const uint32_t erased_bytes = UpTo(NextRandom(), size_bytes);
      CountErase(offset, erased_bytes);
      RewriteBacking(offset, RoundUp(erased_bytes, geometry().write_alignment_bytes),
                     [&](uint32_t i, uint8_t old) { return i < erased_bytes ? erased : old; });
      break;
    }
    case TearMode::kRandom:
      CountErase(offset, size_bytes);
      RewriteBacking(offset, size_bytes,
                     [&](uint32_t, uint8_t old) { return (NextRandom() & 1u) ? erased : old; });
      break;
  }
  // A half-erased byte that happens to read erased is taken as erased, as a
  // bootloader inspecting the flash after the reset would take it.
  (void)ResyncRange(offset, size_bytes);
}

// splitmix64 (Steele, Lea, Flood 2014): tiny, fast, and good enough to pick tear
// lengths and junk bytes reproducibly from a seed.
uint64_t NorFlashModel::NextRandom() {
  uint64_t z = (random_state_ += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// The backing only takes aligned writes, and a tear ends anywhere, so whole
// chunks are read, changed byte by byte and written back. Failures are ignored:
// the cut call reports kPowerLost whatever the backing did, and the written /
// erased state is derived from what the backing holds.
template <typename Next>
void NorFlashModel::RewriteBacking(uint32_t offset, uint32_t size_bytes, Next next) {
  std::array<uint8_t, kChunkBytes> buffer{};
  for (uint32_t done = 0; done < size_bytes;) {
    const uint32_t chunk = std::min(kChunkBytes, size_bytes - done);
    const std::span<uint8_t> part = std::span<uint8_t>(buffer).first(chunk);
    if (!backing_.Read(offset + done, part).ok()) return;
    for (uint32_t i = 0; i < chunk; ++i) part[i] = next(done + i, part[i]);
    if (!backing_.Write(offset + done, part).ok()) return;
    done += chunk;
  }
}

FlashStatus NorFlashModel::ResyncRange(uint32_t offset, uint32_t size_bytes) {
  const uint8_t erased = geometry().erased_value;
  std::array<uint8_t, kChunkBytes> buffer{};
  FlashStatus first_error;
  for (uint32_t done = 0; done < size_bytes;) {
    const uint32_t chunk = std::min(kChunkBytes, size_bytes - done);
    const std::span<uint8_t> part = std::span<uint8_t>(buffer).first(chunk);
    if (FlashStatus read = backing_.Read(offset + done, part); !read.ok()) {
      MarkRange(offset + done, chunk, true);
      if (first_error.ok()) first_error = read;
    } else {
      for (uint32_t i = 0; i < chunk; ++i) MarkByte(offset + done + i, part[i] != erased);
    }
    done += chunk;
  }
  return first_error;
}

void NorFlashModel::MarkByte(uint32_t offset, bool programmed) {
  const auto bit = static_cast<uint8_t>(1u << (offset % 8));
  if (programmed) {
    programmed_[offset / 8] |= bit;
  } else {
    programmed_[offset / 8] &= static_cast<uint8_t>(~bit);
  }
}

void NorFlashModel::MarkRange(uint32_t offset, uint32_t size_bytes, bool programmed) {
  const uint32_t end = offset + size_bytes;
  uint32_t i = offset;
  for (; i < end && i % 8 != 0; ++i) MarkByte(i, programmed);
  for (; end - i >= 8; i += 8) programmed_[i / 8] = programmed ? 0xFF : 0x00;
  for (; i < end; ++i) MarkByte(i, programmed);
}

uint32_t NorFlashModel::FirstProgrammed(uint32_t offset, uint32_t size_bytes) const {
  const uint32_t end = offset + size_bytes;
  uint32_t i = offset;
  while (i < end) {
    if (i % 8 == 0 && end - i >= 8 && programmed_[i / 8] == 0) {
      i += 8;
    } else if (IsProgrammed(i)) {
      return i;
    } else {
      ++i;
    }
  }
  return end;
}

void NorFlashModel::CountErase(uint32_t offset, uint32_t size_bytes) {
  const uint64_t end = uint64_t{offset} + size_bytes;
  for (uint64_t position = offset; position < end;) {
    const std::optional<Sector> sector =
        geometry().SectorContaining(static_cast<uint32_t>(position));
    if (!sector) return;
    if (sector->index < erase_counts_.size()) {
      const uint32_t count = ++erase_counts_[sector->index];
      max_erase_count_ = std::max(max_erase_count_, count);
    }
    position = uint64_t{sector->offset_bytes} + sector->size_bytes;
  }
}

}  // namespace mqota::flash
