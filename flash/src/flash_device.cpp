#include "mqota/flash/flash_device.h"

#include <limits>

namespace mqota::flash {
namespace {

constexpr uint64_t kMaxSizeBytes = std::numeric_limits<uint32_t>::max();

// Sum of the runs in 64 bits, so an oversized geometry is detected instead of
// wrapping around to a small, plausible-looking size.
uint64_t TotalBytes(std::span<const SectorRun> runs) {
  uint64_t total = 0;
  for (const SectorRun& run : runs) total += uint64_t{run.count} * run.size_bytes;
  return total;
}

uint64_t TotalSectors(std::span<const SectorRun> runs) {
  uint64_t total = 0;
  for (const SectorRun& run : runs) total += run.count;
  return total;
}

// True when `position` is the start of a sector or the end of the device.
bool IsBoundary(std::span<const SectorRun> runs, uint64_t position) {
  uint64_t run_start = 0;
  for (const SectorRun& run : runs) {
    const uint64_t run_end = run_start + uint64_t{run.count} * run.size_bytes;
    if (position < run_end) {
      // 32-bit arithmetic where it suffices: a 64-bit division is a library
      // call on a Cortex-M4, and this runs for every erase.
      const uint64_t in_run = position - run_start;
      return in_run <= kMaxSizeBytes && static_cast<uint32_t>(in_run) % run.size_bytes == 0;
    }
    run_start = run_end;
  }
  return position == run_start;
}

}  // namespace

uint32_t FlashGeometry::size_bytes() const {
  const uint64_t total = TotalBytes(sectors);
  return total > kMaxSizeBytes ? 0 : static_cast<uint32_t>(total);
}

uint32_t FlashGeometry::sector_count() const {
  const uint64_t total = TotalSectors(sectors);
  return total > kMaxSizeBytes ? 0 : static_cast<uint32_t>(total);
}

std::optional<Sector> FlashGeometry::SectorByIndex(uint32_t index) const {
  uint64_t first_index = 0;
  uint64_t run_start = 0;
  for (const SectorRun& run : sectors) {
    if (index < first_index + run.count) {
      const uint64_t offset = run_start + (index - first_index) * uint64_t{run.size_bytes};
      if (offset + run.size_bytes > kMaxSizeBytes + 1) return std::nullopt;
      return Sector{index, static_cast<uint32_t>(offset), run.size_bytes};
    }
    first_index += run.count;
    run_start += uint64_t{run.count} * run.size_bytes;
  }
  return std::nullopt;
}

std::optional<Sector> FlashGeometry::SectorContaining(uint32_t offset) const {
  uint64_t first_index = 0;
  uint64_t run_start = 0;
  for (const SectorRun& run : sectors) {
    const uint64_t run_end = run_start + uint64_t{run.count} * run.size_bytes;
    if (offset < run_end) {
      // offset >= run_start here, and both are below 2^32.
      const uint32_t in_run = static_cast<uint32_t>(offset - run_start) / run.size_bytes;
      const uint64_t index = first_index + in_run;
      const uint64_t start = run_start + uint64_t{in_run} * run.size_bytes;
      if (index > kMaxSizeBytes) return std::nullopt;
      return Sector{static_cast<uint32_t>(index), static_cast<uint32_t>(start), run.size_bytes};
    }
    first_index += run.count;
    run_start = run_end;
  }
  return std::nullopt;
}

bool FlashGeometry::IsSectorAligned(uint32_t offset, uint32_t size_bytes) const {
  const uint64_t end = uint64_t{offset} + size_bytes;
  return end <= TotalBytes(sectors) && IsBoundary(sectors, offset) && IsBoundary(sectors, end);
}

bool FlashGeometry::IsValid() const {
  const uint32_t w = write_alignment_bytes;
  if (w == 0 || w > 32 || (w & (w - 1)) != 0) return false;
  if (erased_value != 0x00 && erased_value != 0xFF) return false;
  if (sectors.empty()) return false;
  for (const SectorRun& run : sectors) {
    if (run.count == 0 || run.size_bytes == 0 || run.size_bytes % w != 0) return false;
  }
  return TotalBytes(sectors) <= kMaxSizeBytes;
}

FlashDevice::FlashDevice(const FlashGeometry& geometry)
    : geometry_(geometry), size_bytes_(geometry.IsValid() ? geometry.size_bytes() : 0) {}

FlashStatus FlashDevice::Read(uint32_t offset, std::span<uint8_t> out) {
  if (!InBounds(offset, out.size())) return Refuse(FlashErrc::kOutOfBounds, FlashOp::kRead, offset);
  if (out.empty()) return {};
  return DoRead(offset, out);
}

FlashStatus FlashDevice::Write(uint32_t offset, std::span<const uint8_t> data) {
  if (!InBounds(offset, data.size())) {
    return Refuse(FlashErrc::kOutOfBounds, FlashOp::kWrite, offset);
  }
  if (data.empty()) return {};
  const uint32_t w = geometry_.write_alignment_bytes;
  if (offset % w != 0 || data.size() % w != 0) {
    return Refuse(FlashErrc::kMisaligned, FlashOp::kWrite, offset);
  }
  return DoWrite(offset, data);
}

FlashStatus FlashDevice::Erase(uint32_t offset, uint32_t size_bytes) {
  if (!InBounds(offset, size_bytes))
    return Refuse(FlashErrc::kOutOfBounds, FlashOp::kErase, offset);
  if (size_bytes == 0) return {};
  if (!geometry_.IsSectorAligned(offset, size_bytes)) {
    return Refuse(FlashErrc::kNotSectorAligned, FlashOp::kErase, offset);
  }
  return DoErase(offset, size_bytes);
}

FlashStatus FlashDevice::Refuse(FlashErrc code, FlashOp op, uint32_t offset) {
  const FlashError error{code, op, offset};
  OnRefused(error);
  return error;
}

// Written as two comparisons so that offset + size can never overflow, whatever
// the width of size_t.
bool FlashDevice::InBounds(uint32_t offset, size_t size_bytes) const {
  return offset <= size_bytes_ && size_bytes <= size_bytes_ - offset;
}

}  // namespace mqota::flash
