#include "mqota/flash/flash_area.h"

#include <algorithm>
#include <array>

namespace mqota::flash {

bool FlashArea::IsValid() const {
  return size_bytes_ != 0 && uint64_t{offset_bytes_} + size_bytes_ <= device_->size_bytes() &&
         device_->geometry().IsSectorAligned(offset_bytes_, size_bytes_);
}

uint32_t FlashArea::first_sector_index() const {
  const std::optional<Sector> first = device_->geometry().SectorContaining(offset_bytes_);
  return first ? first->index : 0;
}

uint32_t FlashArea::sector_count() const {
  if (size_bytes_ == 0) return 0;
  const FlashGeometry& geometry = device_->geometry();
  const std::optional<Sector> first = geometry.SectorContaining(offset_bytes_);
  const std::optional<Sector> last = geometry.SectorContaining(offset_bytes_ + size_bytes_ - 1);
  if (!first || !last) return 0;
  return last->index - first->index + 1;
}

std::optional<Sector> FlashArea::SectorByIndex(uint32_t index) const {
  if (index >= sector_count()) return std::nullopt;
  std::optional<Sector> sector = device_->geometry().SectorByIndex(first_sector_index() + index);
  if (!sector) return std::nullopt;
  return Sector{index, sector->offset_bytes - offset_bytes_, sector->size_bytes};
}

std::optional<Sector> FlashArea::SectorContaining(uint32_t offset) const {
  if (offset >= size_bytes_) return std::nullopt;
  std::optional<Sector> sector = device_->geometry().SectorContaining(offset_bytes_ + offset);
  if (!sector) return std::nullopt;
  return Sector{sector->index - first_sector_index(), sector->offset_bytes - offset_bytes_,
                sector->size_bytes};
}

FlashStatus FlashArea::Read(uint32_t offset, std::span<uint8_t> out) const {
  if (!InArea(offset, out.size()))
    return FlashError{FlashErrc::kOutOfBounds, FlashOp::kRead, offset};
  return RelativeStatus(device_->Read(offset_bytes_ + offset, out));
}

FlashStatus FlashArea::Write(uint32_t offset, std::span<const uint8_t> data) const {
  if (!InArea(offset, data.size())) {
    return FlashError{FlashErrc::kOutOfBounds, FlashOp::kWrite, offset};
  }
  return RelativeStatus(device_->Write(offset_bytes_ + offset, data));
}

FlashStatus FlashArea::Erase(uint32_t offset, uint32_t size_bytes) const {
  if (!InArea(offset, size_bytes))
    return FlashError{FlashErrc::kOutOfBounds, FlashOp::kErase, offset};
  return RelativeStatus(device_->Erase(offset_bytes_ + offset, size_bytes));
}

FlashStatus FlashArea::EraseAll() const { return Erase(0, size_bytes_); }

Result<bool, FlashError> FlashArea::IsErased(uint32_t offset, uint32_t size_bytes,
                                             std::span<uint8_t> scratch) const {
  if (!InArea(offset, size_bytes))
    return FlashError{FlashErrc::kOutOfBounds, FlashOp::kRead, offset};
  std::array<uint8_t, 32> local{};
  const std::span<uint8_t> buffer = scratch.empty() ? std::span<uint8_t>(local) : scratch;
  const uint8_t erased = erased_value();
  uint32_t done = 0;
  while (done < size_bytes) {
    const uint32_t chunk =
        static_cast<uint32_t>(std::min<size_t>(buffer.size(), size_bytes - done));
    const std::span<uint8_t> part = buffer.first(chunk);
    MQOTA_TRY(Read(offset + done, part));
    if (std::any_of(part.begin(), part.end(), [erased](uint8_t b) { return b != erased; })) {
      return false;
    }
    done += chunk;
  }
  return true;
}

bool FlashArea::InArea(uint32_t offset, size_t size_bytes) const {
  return offset <= size_bytes_ && size_bytes <= size_bytes_ - offset;
}

// The device reports device offsets; callers of an area think in area offsets.
// A device error always lies at or after the start of the call, so inside or
// after the area: the subtraction cannot wrap.
FlashError FlashArea::Relative(FlashError error) const {
  error.offset -= offset_bytes_;
  return error;
}

FlashStatus FlashArea::RelativeStatus(FlashStatus status) const {
  if (status.ok()) return status;
  return Relative(status.error());
}

}  // namespace mqota::flash
