#include "mqota/flash/ram_flash.h"

#include <algorithm>

namespace mqota::flash {

RamFlash::RamFlash(const FlashGeometry& geometry, std::span<uint8_t> storage)
    : FlashDevice(geometry), storage_(storage) {
  // A size mismatch would let FlashDevice's bounds checks pass for bytes that
  // storage does not have; better to stop right here than corrupt memory later.
  if (storage_.size() != size_bytes()) __builtin_trap();
  std::fill(storage_.begin(), storage_.end(), geometry.erased_value);
}

FlashStatus RamFlash::DoRead(uint32_t offset, std::span<uint8_t> out) {
  std::copy_n(storage_.begin() + offset, out.size(), out.begin());
  return {};
}

FlashStatus RamFlash::DoWrite(uint32_t offset, std::span<const uint8_t> data) {
  std::copy(data.begin(), data.end(), storage_.begin() + offset);
  return {};
}

FlashStatus RamFlash::DoErase(uint32_t offset, uint32_t size_bytes) {
  std::fill_n(storage_.begin() + offset, size_bytes, geometry().erased_value);
  return {};
}

}  // namespace mqota::flash
