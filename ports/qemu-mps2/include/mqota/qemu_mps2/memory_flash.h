// The board's "flash": a FlashDevice over memory-mapped bytes of the
// emulated board. On mps2-an386 the code memory is RAM (QEMU loads the slots'
// images there with `-device loader`), so reads and writes are plain memory
// accesses, and erase writes the erased value. FlashDevice still enforces
// bounds and alignment.
//
// Unlike flash::RamFlash, the constructor leaves the bytes alone: the slots
// hold images before the firmware starts, as a real chip does.
#pragma once

#include <cstdint>
#include <span>

#include "mqota/flash/flash_device.h"

namespace mqota::qemu_mps2 {

class MemoryFlash final : public flash::FlashDevice {
 public:
  // `base`: the address of the device's first byte; geometry.size_bytes()
  // bytes from there must be memory the firmware owns.
  MemoryFlash(const flash::FlashGeometry& geometry, uintptr_t base);

 private:
  flash::FlashStatus DoRead(uint32_t offset, std::span<uint8_t> out) override;
  flash::FlashStatus DoWrite(uint32_t offset, std::span<const uint8_t> data) override;
  flash::FlashStatus DoErase(uint32_t offset, uint32_t size_bytes) override;

  uint8_t* base_;
};

}  // namespace mqota::qemu_mps2
