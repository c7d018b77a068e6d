// FlashArea: a window onto a FlashDevice (a slot, the scratch area, ...), with
// offsets relative to the start of the window. Everything above the flash
// layer reads, writes and erases through areas, so an image or a trailer never
// needs to know where on the chip its slot lives.
//
// Contract: the same as FlashDevice's (flash_device.h), with bounds checked
// against the area and every error offset area-relative. A FlashArea is a small
// value (device pointer, offset, size); copies refer to the same device, which
// must outlive them. Sector-aligned alignment and write-alignment checks are
// the device's, on device offsets; they agree with area offsets because a valid
// area starts on a sector boundary (IsValid) and sectors are whole multiples of
// the write alignment.
#pragma once

#include <cstdint>
#include <optional>
#include <span>

#include "mqota/base/result.h"
#include "mqota/flash/error.h"
#include "mqota/flash/flash_device.h"

namespace mqota::flash {

class FlashArea {
 public:
  constexpr FlashArea(FlashDevice& device, uint32_t offset_bytes, uint32_t size_bytes)
      : device_(&device), offset_bytes_(offset_bytes), size_bytes_(size_bytes) {}

  FlashDevice& device() const { return *device_; }
  // Where the area starts on its device.
  constexpr uint32_t offset_bytes() const { return offset_bytes_; }
  constexpr uint32_t size_bytes() const { return size_bytes_; }
  uint32_t write_alignment_bytes() const { return device_->geometry().write_alignment_bytes; }
  uint8_t erased_value() const { return device_->geometry().erased_value; }

  // Non-empty, inside the device, starting and ending on device sector
  // boundaries. Other members assume a valid area (FlashMap::Validate checks).
  bool IsValid() const;

  // Sectors of the device that lie in the area, indexed and offset from the
  // area's start.
  uint32_t sector_count() const;
  std::optional<Sector> SectorByIndex(uint32_t index) const;
  std::optional<Sector> SectorContaining(uint32_t offset) const;

  // Errors: kOutOfBounds when the range leaves the area; otherwise those of the
  // device call (flash_device.h), with the offset made area-relative.
  [[nodiscard]] FlashStatus Read(uint32_t offset, std::span<uint8_t> out) const;
  [[nodiscard]] FlashStatus Write(uint32_t offset, std::span<const uint8_t> data) const;
  [[nodiscard]] FlashStatus Erase(uint32_t offset, uint32_t size_bytes) const;
  // One erase call over the whole area (one operation for a power-cut count).
  [[nodiscard]] FlashStatus EraseAll() const;

  // True when every byte of [offset, offset + size_bytes) reads as the erased
  // value. Reads in chunks of `scratch` (empty: a 32-byte buffer on the
  // stack). Note that "reads erased" is not "may be written" on real NOR: a
  // byte written with the erased value, or a half-erased one, reads erased too.
  // Errors: those of Read.
  [[nodiscard]] Result<bool, FlashError> IsErased(uint32_t offset, uint32_t size_bytes,
                                                  std::span<uint8_t> scratch = {}) const;

 private:
  bool InArea(uint32_t offset, size_t size_bytes) const;
  FlashError Relative(FlashError error) const;
  FlashStatus RelativeStatus(FlashStatus status) const;
  // Index on the device of the first sector of the area.
  uint32_t first_sector_index() const;

  FlashDevice* device_;
  uint32_t offset_bytes_;
  uint32_t size_bytes_;
};

}  // namespace mqota::flash
