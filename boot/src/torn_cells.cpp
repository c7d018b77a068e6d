#include "torn_cells.h"

#include <algorithm>
#include <array>
#include <span>

#include "mqota/boot/swap_type.h"

namespace mqota::boot {
namespace {

// Bytes read per call when scanning a log backwards.
constexpr uint32_t kScanChunkBytes = 128;

// The one rule (see torn_cells.h): a cell is written when ANY of its bytes
// differs from the erased value, not only the first one it is read from.
bool CellWritten(std::span<const uint8_t> cell, uint8_t erased) {
  return std::any_of(cell.begin(), cell.end(), [erased](uint8_t b) { return b != erased; });
}

BootResult<bool> CellWritten(const Trailer& trailer, uint32_t offset) {
  std::array<uint8_t, kMaxCellBytes> cell{};
  const auto span = std::span(cell).first(trailer.geometry().write_size);
  MQOTA_TRY(Check(trailer.area().Read(offset, span)));
  return CellWritten(span, trailer.area().erased_value());
}

}  // namespace

BootResult<bool> StatusEntryWritten(const Trailer& log, uint32_t index) {
  return CellWritten(log, log.offset_bytes() + index * log.geometry().write_size);
}

BootResult<uint32_t> CountStatusEntries(const Trailer& log, uint32_t max_entries) {
  uint32_t count = 0;
  while (count < max_entries) {
    MQOTA_TRY_ASSIGN(const bool written, StatusEntryWritten(log, count));
    if (!written) break;
    ++count;
  }
  return count;
}

BootResult<std::optional<uint32_t>> LastWrittenStatusEntry(const Trailer& log) {
  const flash::FlashArea& area = log.area();
  const uint32_t w = log.geometry().write_size;
  const uint32_t per_chunk = kScanChunkBytes / w;
  std::array<uint8_t, kScanChunkBytes> chunk{};
  uint32_t end = log.status_entry_count();
  while (end > 0) {
    const uint32_t count = std::min(end, per_chunk);
    const uint32_t first = end - count;
    MQOTA_TRY(Check(
        area.Read(log.offset_bytes() + first * w, std::span(chunk).first(size_t{count} * w))));
    for (uint32_t i = count; i > 0; --i) {
      if (CellWritten(std::span(chunk).subspan(size_t{i - 1} * w, w), area.erased_value())) {
        return std::optional<uint32_t>{first + i - 1};
      }
    }
    end = first;
  }
  return std::optional<uint32_t>{};
}

BootResult<bool> CopyDoneTorn(const Trailer& trailer, const TrailerState& state) {
  if (state.copy_done == FlagState::kSet) return false;
  return CellWritten(trailer,
                     trailer.area().size_bytes() - trailer.geometry().copy_done_from_end());
}

bool IsRepairRecord(const TrailerState& record, uint8_t image_index) {
  return record.magic == MagicState::kUnset && record.copy_done == FlagState::kSet &&
         IsSwap(record.swap_type) && record.swap_size.has_value() &&
         record.image_index == image_index;
}

}  // namespace mqota::boot
