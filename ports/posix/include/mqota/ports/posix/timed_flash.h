// A flash chip as slow as a microcontroller's: every write, and every sector
// an erase covers, takes time on the calling thread. File-backed flash does a
// whole swap or download in milliseconds, too fast for a power cut (a kill)
// to land inside it; the virtual board (`--flash-op-us`) and the end-to-end
// device process use this to give kills something to interrupt.
#pragma once

#include <chrono>
#include <thread>

#include "mqota/flash/flash_device.h"

namespace mqota::posix {

class TimedFlash final : public flash::FlashDevice {
 public:
  TimedFlash(flash::FlashDevice& inner, std::chrono::microseconds per_write,
             std::chrono::microseconds per_sector_erased)
      : FlashDevice(inner.geometry()),
        inner_(inner),
        per_write_(per_write),
        per_sector_erased_(per_sector_erased) {}

 private:
  flash::FlashStatus DoRead(uint32_t offset, std::span<uint8_t> out) override {
    return inner_.Read(offset, out);
  }
  flash::FlashStatus DoWrite(uint32_t offset, std::span<const uint8_t> data) override {
    std::this_thread::sleep_for(per_write_);
    return inner_.Write(offset, data);
  }
  flash::FlashStatus DoErase(uint32_t offset, uint32_t size_bytes) override {
    // FlashDevice checked that the range starts and ends on sector bounds.
    uint32_t sectors = 0;
    for (uint32_t at = offset; at < offset + size_bytes; ++sectors) {
      const auto sector = geometry().SectorContaining(at);
      if (!sector) break;
      at = sector->offset_bytes + sector->size_bytes;
    }
    std::this_thread::sleep_for(per_sector_erased_ * sectors);
    return inner_.Erase(offset, size_bytes);
  }

  flash::FlashDevice& inner_;
  std::chrono::microseconds per_write_;
  std::chrono::microseconds per_sector_erased_;
};

}  // namespace mqota::posix
