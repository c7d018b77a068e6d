// Reading and writing one area's image trailer in MCUboot's layout
// (trailer_format.h; docs/spec/mcuboot-trailer.md#trailer-layout).
//
// Write discipline, as MCUboot's: every field is written once after an erase,
// in one aligned write of its value padded with the erased value; nothing is
// ever read-modified-written. Which field to write when (magic last, image_ok
// before copy_done) is the caller's business: the app calls in app_api.h and
// the swap algorithms.
#pragma once

#include <cstdint>
#include <optional>

#include "mqota/boot/error.h"
#include "mqota/boot/trailer_format.h"
#include "mqota/flash/flash_area.h"

namespace mqota::boot {

enum class MagicState : uint8_t { kUnset, kGood, kBad };
enum class FlagState : uint8_t { kUnset, kSet, kBad };

const char* Describe(MagicState state);
const char* Describe(FlagState state);

struct TrailerState {
  MagicState magic = MagicState::kUnset;
  FlagState image_ok = FlagState::kUnset;
  FlagState copy_done = FlagState::kUnset;
  // From swap_info: kNone when erased or out of range (MCUboot's decoding).
  SwapType swap_type = SwapType::kNone;
  uint8_t image_index = 0;
  // nullopt while erased.
  std::optional<uint32_t> swap_size;
};

class Trailer {
 public:
  // The trailer at the end of `area`. The geometry's write size must equal the
  // area's write alignment (checked by IsUsable).
  Trailer(const flash::FlashArea& area, const TrailerGeometry& geometry)
      : area_(area), geometry_(geometry) {}

  // Geometry valid, write sizes agree, and the area holds the whole trailer.
  bool IsUsable() const;

  const flash::FlashArea& area() const { return area_; }
  const TrailerGeometry& geometry() const { return geometry_; }

  // Offset of the first trailer byte (the status log's start) in the area.
  uint32_t offset_bytes() const { return area_.size_bytes() - geometry_.trailer_bytes(); }

  BootResult<TrailerState> Read() const;

  BootStatus WriteMagic() const;
  BootStatus WriteImageOk() const;
  BootStatus WriteCopyDone() const;
  BootStatus WriteSwapInfo(SwapType type, uint8_t image_index = 0) const;
  BootStatus WriteSwapSize(uint32_t size_bytes) const;

  // The status log: entry `index` (0-based) holds one byte in a W-byte cell.
  uint32_t status_entry_count() const { return geometry_.max_sectors * 3; }
  BootStatus WriteStatusEntry(uint32_t index, uint8_t value) const;
  // nullopt while erased.
  BootResult<std::optional<uint8_t>> ReadStatusEntry(uint32_t index) const;

  // Erases the sectors that hold the trailer, the last one first: a cut in the
  // middle destroys the magic before anything it would vouch for
  // (docs/spec/mcuboot-trailer.md#rule-3-erase-trailers-from-the-end). Every
  // sector is its own erase operation.
  BootStatus EraseSectors() const;

 private:
  // Writes `value` at `offset`, padded with the erased value to whole write units.
  BootStatus WriteCell(uint32_t offset, std::span<const uint8_t> value) const;
  BootResult<uint8_t> ReadByte(uint32_t offset) const;

  flash::FlashArea area_;
  TrailerGeometry geometry_;
};

}  // namespace mqota::boot
