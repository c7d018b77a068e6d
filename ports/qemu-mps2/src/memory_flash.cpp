#include "mqota/qemu_mps2/memory_flash.h"

#include <algorithm>

namespace mqota::qemu_mps2 {

MemoryFlash::MemoryFlash(const flash::FlashGeometry& geometry, uintptr_t base)
    : FlashDevice(geometry), base_(reinterpret_cast<uint8_t*>(base)) {}

flash::FlashStatus MemoryFlash::DoRead(uint32_t offset, std::span<uint8_t> out) {
  std::copy_n(base_ + offset, out.size(), out.begin());
  return {};
}

flash::FlashStatus MemoryFlash::DoWrite(uint32_t offset, std::span<const uint8_t> data) {
  std::copy(data.begin(), data.end(), base_ + offset);
  return {};
}

flash::FlashStatus MemoryFlash::DoErase(uint32_t offset, uint32_t size_bytes) {
  std::fill_n(base_ + offset, size_bytes, geometry().erased_value);
  return {};
}

}  // namespace mqota::qemu_mps2
