// RamFlash: a FlashDevice in caller-provided RAM, with plain RAM semantics.
//
// Overwrites are allowed (no write-once rule): this is the store, not the
// chip's physics. Bounds, write alignment and sector alignment are still
// enforced by FlashDevice. Wrap it in a NorFlashModel to get NOR rules, counters
// and power cuts.
#pragma once

#include <cstdint>
#include <span>

#include "mqota/flash/flash_device.h"

namespace mqota::flash {

class RamFlash final : public FlashDevice {
 public:
  // `storage.size()` must equal `geometry.size_bytes()` (a mismatch is a
  // programming mistake and traps). The constructor fills it with the erased
  // value: a new chip reads as erased. Both must outlive the device.
  RamFlash(const FlashGeometry& geometry, std::span<uint8_t> storage);

  // The whole device, for tests that compare bytes without going through Read.
  std::span<const uint8_t> contents() const { return storage_; }

 private:
  FlashStatus DoRead(uint32_t offset, std::span<uint8_t> out) override;
  FlashStatus DoWrite(uint32_t offset, std::span<const uint8_t> data) override;
  FlashStatus DoErase(uint32_t offset, uint32_t size_bytes) override;

  std::span<uint8_t> storage_;
};

}  // namespace mqota::flash
