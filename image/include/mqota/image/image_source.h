// Where image bytes come from. The bootloader and the agent read images from a
// flash slot, the CLI from a file in memory; the parser and the validator work
// on this small seam and never see the difference.
#pragma once

#include <cstdint>
#include <span>

#include "mqota/flash/flash_area.h"
#include "mqota/image/error.h"

namespace mqota::image {

class ImageSource {
 public:
  // Bytes available (a slot's size, a file's length).
  virtual uint32_t size_bytes() const = 0;
  // Fills `out` from `offset`. Callers stay inside size_bytes(); a failure is
  // reported as kReadFailed at `offset`. Never partial.
  virtual ImageStatus Read(uint32_t offset, std::span<uint8_t> out) = 0;

 protected:
  ~ImageSource() = default;
};

// An image held in memory (a file read by the CLI, a test vector).
class MemoryImageSource final : public ImageSource {
 public:
  explicit MemoryImageSource(std::span<const uint8_t> bytes) : bytes_(bytes) {}
  uint32_t size_bytes() const override;
  ImageStatus Read(uint32_t offset, std::span<uint8_t> out) override;

 private:
  std::span<const uint8_t> bytes_;
};

// An image in a flash slot.
class FlashImageSource final : public ImageSource {
 public:
  explicit FlashImageSource(const flash::FlashArea& area) : area_(area) {}
  uint32_t size_bytes() const override;
  ImageStatus Read(uint32_t offset, std::span<uint8_t> out) override;

 private:
  const flash::FlashArea& area_;
};

}  // namespace mqota::image
