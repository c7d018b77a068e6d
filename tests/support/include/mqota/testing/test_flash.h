// Named geometries and a RAM-backed chip for the flash layer's tests.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "mqota/flash/flash_device.h"
#include "mqota/flash/nor_flash_model.h"
#include "mqota/flash/ram_flash.h"

namespace mqota::flash::testing {

// 8 sectors of 256 bytes.
inline constexpr std::array<SectorRun, 1> kUniformRuns{{{8, 256}}};
// STM32F4-like shape, scaled down: small sectors first, then bigger ones.
inline constexpr std::array<SectorRun, 3> kMixedRuns{{{4, 64}, {1, 256}, {2, 512}}};

inline FlashGeometry Uniform(uint32_t write_alignment_bytes = 1, uint8_t erased_value = 0xFF) {
  return FlashGeometry{kUniformRuns, write_alignment_bytes, erased_value};
}
inline FlashGeometry Mixed(uint32_t write_alignment_bytes = 1, uint8_t erased_value = 0xFF) {
  return FlashGeometry{kMixedRuns, write_alignment_bytes, erased_value};
}

inline std::vector<uint8_t> Pattern(size_t size, uint8_t seed = 1) {
  std::vector<uint8_t> bytes(size);
  for (size_t i = 0; i < size; ++i) bytes[i] = static_cast<uint8_t>(seed + 37 * i + (i >> 8));
  // Keep the erased values out, so a written byte never reads as erased.
  for (uint8_t& b : bytes) {
    if (b == 0x00 || b == 0xFF) b = 0x5A;
  }
  return bytes;
}

// A RamFlash that owns its storage (host tests may use the heap).
class OwnedRamFlash {
 public:
  explicit OwnedRamFlash(const FlashGeometry& geometry)
      : storage_(geometry.size_bytes()), device_(geometry, storage_) {}
  RamFlash& device() { return device_; }
  std::span<const uint8_t> contents() const { return device_.contents(); }

 private:
  std::vector<uint8_t> storage_;
  RamFlash device_;
};

// A NorFlashModel over an OwnedRamFlash, with its bitmap and erase counters.
class OwnedNorFlash {
 public:
  explicit OwnedNorFlash(const FlashGeometry& geometry)
      : ram_(geometry),
        bitmap_(NorFlashModel::BitmapBytes(geometry)),
        erase_counts_(geometry.sector_count()),
        model_(ram_.device(), bitmap_, erase_counts_) {}
  NorFlashModel& model() { return model_; }
  NorFlashModel* operator->() { return &model_; }
  std::span<const uint8_t> contents() const { return ram_.contents(); }
  RamFlash& ram() { return ram_.device(); }

 private:
  OwnedRamFlash ram_;
  std::vector<uint8_t> bitmap_;
  std::vector<uint32_t> erase_counts_;
  NorFlashModel model_;
};

inline std::string GeometryName(uint32_t write_alignment_bytes, uint8_t erased_value) {
  // Appended, not `"W" + std::to_string(...)`: GCC 12 at -O3 reports a false
  // -Wrestrict in that operator+ (GCC bug 105651), which -Werror makes fatal.
  std::string name = "W";
  name += std::to_string(write_alignment_bytes);
  name += erased_value == 0xFF ? "_ErasedFF" : "_Erased00";
  return name;
}

}  // namespace mqota::flash::testing
