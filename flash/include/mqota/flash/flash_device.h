// The flash-device seam: one chip (internal flash, an external SPI NOR, a file,
// RAM), addressed from 0. Everything above the flash layer talks to flash
// through FlashArea windows onto a FlashDevice.
//
// Contract, for every implementation (enforced once, here, before Do* runs):
// - Read(offset, out): any offset and length inside the device. Never partial.
// - Write(offset, data): offset and length are multiples of the write
//   alignment. Real NOR flash may only program bytes erased since their last
//   write; callers must respect that (NorFlashModel enforces it in tests).
// - Erase(offset, size): starts and ends on sector boundaries; may span several
//   sectors (one call = one operation); afterwards the bytes read as the
//   erased value.
// - A zero-length Read, Write or Erase inside the device (offset <= size)
//   succeeds without reaching the implementation.
// - A refused call (by these checks or by an implementation's rule) changes
//   nothing and reports the op and the offset where the call started (an
//   implementation may report a later offset, e.g. the first byte it refused).
// - No call blocks on anything but the flash itself; none allocates.
//
// Implementations are `final` classes: the destructor here is not virtual
// (see below), and `final` is what tells the compiler nobody derives further.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "mqota/flash/error.h"

namespace mqota::flash {

// `count` consecutive sectors of `size_bytes` each. A uniform device is one run;
// an STM32F4-like device (16/64/128 KiB sectors) is several.
struct SectorRun {
  uint32_t count;
  uint32_t size_bytes;
};

struct Sector {
  uint32_t index;
  uint32_t offset_bytes;
  uint32_t size_bytes;
};

struct FlashGeometry {
  // Sector runs in address order. The array must outlive every device using it.
  std::span<const SectorRun> sectors;
  // Program unit: 1, 2, 4, 8, 16 or 32 bytes.
  uint32_t write_alignment_bytes = 1;
  // Value of an erased byte: 0xFF (most NOR flash) or 0x00.
  uint8_t erased_value = 0xFF;

  uint32_t size_bytes() const;
  uint32_t sector_count() const;
  std::optional<Sector> SectorByIndex(uint32_t index) const;
  // The sector containing `offset`, if any.
  std::optional<Sector> SectorContaining(uint32_t offset) const;
  // True when [offset, offset + size) starts and ends on sector boundaries.
  bool IsSectorAligned(uint32_t offset, uint32_t size_bytes) const;
  // Alignment a power of two in 1..32, erased value 0x00/0xFF, every sector
  // non-empty and a multiple of the write alignment, total size fits 32 bits.
  bool IsValid() const;
};

class FlashDevice {
 public:
  FlashDevice(const FlashDevice&) = delete;
  FlashDevice& operator=(const FlashDevice&) = delete;

  const FlashGeometry& geometry() const { return geometry_; }
  uint32_t size_bytes() const { return size_bytes_; }

  // Errors: kOutOfBounds (range not inside the device), then whatever the
  // implementation reports (kPowerLost, kIo).
  [[nodiscard]] FlashStatus Read(uint32_t offset, std::span<uint8_t> out);
  // Errors: kOutOfBounds, kMisaligned (offset or length not a multiple of the
  // write alignment), then the implementation's (kNotErased, kPowerLost, kIo).
  [[nodiscard]] FlashStatus Write(uint32_t offset, std::span<const uint8_t> data);
  // Errors: kOutOfBounds, kNotSectorAligned, then the implementation's.
  [[nodiscard]] FlashStatus Erase(uint32_t offset, uint32_t size_bytes);

 protected:
  // An invalid geometry (see FlashGeometry::IsValid) gives a device of size 0:
  // every non-empty call is refused with kOutOfBounds instead of touching
  // memory the geometry does not describe.
  explicit FlashDevice(const FlashGeometry& geometry);
  // Not virtual and protected: devices are never deleted through this
  // interface, and a virtual destructor would drag operator delete (and with
  // it the heap) into firmware that never uses it.
  ~FlashDevice() = default;
  FlashDevice(FlashDevice&&) = default;
  FlashDevice& operator=(FlashDevice&&) = default;

 private:
  // Told about every call the checks above refuse, just before the refusal is
  // returned. A fault-injecting model counts these too, so a test can demand
  // "nothing fired" even for calls that never reached DoWrite/DoErase.
  virtual void OnRefused(const FlashError& /*error*/) {}

  // Called with arguments already checked against the contract above.
  virtual FlashStatus DoRead(uint32_t offset, std::span<uint8_t> out) = 0;
  virtual FlashStatus DoWrite(uint32_t offset, std::span<const uint8_t> data) = 0;
  virtual FlashStatus DoErase(uint32_t offset, uint32_t size_bytes) = 0;

  FlashStatus Refuse(FlashErrc code, FlashOp op, uint32_t offset);
  bool InBounds(uint32_t offset, size_t size_bytes) const;

  FlashGeometry geometry_;
  uint32_t size_bytes_;
};

}  // namespace mqota::flash
