// A flash chip as slow as a microcontroller's: every write and erase takes
// time (PSoC 6 internal flash: milliseconds per 512-byte row). File-backed
// flash finishes a whole swap in a few milliseconds, too fast for a power
// cut to land inside it; with `mqota-board run --flash-op-us N` it can.
#pragma once

#include <chrono>
#include <thread>

#include "mqota/flash/flash_device.h"

namespace mqota::board {

class TimedFlash final : public flash::FlashDevice {
 public:
  TimedFlash(flash::FlashDevice& inner, std::chrono::microseconds per_operation)
      : FlashDevice(inner.geometry()), inner_(inner), per_operation_(per_operation) {}

 private:
  flash::FlashStatus DoRead(uint32_t offset, std::span<uint8_t> out) override {
    return inner_.Read(offset, out);
  }
  flash::FlashStatus DoWrite(uint32_t offset, std::span<const uint8_t> data) override {
    std::this_thread::sleep_for(per_operation_);
    return inner_.Write(offset, data);
  }
  flash::FlashStatus DoErase(uint32_t offset, uint32_t size_bytes) override {
    std::this_thread::sleep_for(per_operation_);
    return inner_.Erase(offset, size_bytes);
  }

  flash::FlashDevice& inner_;
  std::chrono::microseconds per_operation_;
};

}  // namespace mqota::board
