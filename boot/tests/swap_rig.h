// A flash layout for swap-algorithm tests: primary, secondary and scratch
// areas on one NOR-model chip (the reference geometry by default: 4 KiB
// sectors, 32-sector slots, a 4 KiB scratch), images of pseudo-random bytes,
// and checks of the canonical end state (docs/spec/mcuboot-trailer.md#end-state,
// docs/spec/power-loss-testing.md#invariants-after-a-cut).
#pragma once

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "mqota/boot/swap_algorithm.h"
#include "mqota/boot/trailer.h"
#include "mqota/testing/random_bytes.h"
#include "mqota/testing/test_flash.h"

namespace mqota::boot::testing {

struct RigLayout {
  uint32_t sector_bytes = 4096;
  uint32_t primary_sectors = 32;
  uint32_t secondary_sectors = 32;
  uint32_t scratch_sectors = 1;
  uint32_t write_size = 8;
  uint8_t erased = 0xff;
  uint32_t max_align = 8;
  uint32_t max_sectors = 128;

  std::string Name() const {
    // Appended, not `"S" + std::to_string(...)`: GCC 12 at -O3 reports a false
    // -Wrestrict in that operator+ (GCC bug 105651), which -Werror makes fatal.
    std::string name = "S";
    name += std::to_string(sector_bytes) + "_P" + std::to_string(primary_sectors) + "_Q" +
            std::to_string(secondary_sectors) + "_X" + std::to_string(scratch_sectors) + "_W" +
            std::to_string(write_size) + (erased == 0xff ? "_FF" : "_00");
    return name;
  }
};

class SwapRig {
 public:
  explicit SwapRig(const RigLayout& layout = {})
      : layout_(layout),
        runs_{{{layout.primary_sectors + layout.secondary_sectors + layout.scratch_sectors,
                layout.sector_bytes}}},
        chip_({runs_, layout.write_size, layout.erased}),
        primary_(chip_.model(), 0, layout.primary_sectors * layout.sector_bytes),
        secondary_(chip_.model(), primary_.size_bytes(),
                   layout.secondary_sectors * layout.sector_bytes),
        scratch_(chip_.model(), primary_.size_bytes() + secondary_.size_bytes(),
                 layout.scratch_sectors * layout.sector_bytes) {}

  SwapContext context() const {
    return SwapContext{primary_, secondary_, layout_.scratch_sectors ? &scratch_ : nullptr,
                       TrailerGeometry{layout_.write_size, layout_.max_align, layout_.max_sectors},
                       0};
  }
  Trailer primary_trailer() const { return Trailer(primary_, context().trailer); }
  Trailer secondary_trailer() const { return Trailer(secondary_, context().trailer); }

  // Pseudo-random bytes standing for an image of `size` bytes; `seed` tells
  // images apart. Written straight into the RAM below the model.
  static std::vector<uint8_t> Image(uint32_t size, uint32_t seed) {
    return mqota::testing::PseudoRandomBytes(size, seed);
  }
  // Erases `area`, then writes `bytes` from `at_bytes` on (swap-offset's
  // update sits one sector into the secondary: SwapAlgorithm::SourceOffset).
  void Place(const flash::FlashArea& area, const std::vector<uint8_t>& bytes,
             uint32_t at_bytes = 0) {
    ASSERT_TRUE(area.Erase(0, area.size_bytes()).ok());
    for (uint32_t off = 0; off < bytes.size(); off += 4096) {
      std::vector<uint8_t> chunk(bytes.begin() + off,
                                 bytes.begin() + std::min<size_t>(bytes.size(), off + 4096));
      chunk.resize(
          (chunk.size() + layout_.write_size - 1) / layout_.write_size * layout_.write_size,
          layout_.erased);
      ASSERT_TRUE(area.Write(at_bytes + off, chunk).ok());
    }
  }
  std::vector<uint8_t> Read(const flash::FlashArea& area, uint32_t size,
                            uint32_t at_bytes = 0) const {
    std::vector<uint8_t> bytes(size);
    EXPECT_TRUE(area.Read(at_bytes, bytes).ok());
    return bytes;
  }

  const flash::FlashArea& primary() const { return primary_; }
  const flash::FlashArea& secondary() const { return secondary_; }
  const flash::FlashArea& scratch() const { return scratch_; }
  flash::NorFlashModel& chip() { return chip_.model(); }
  const RigLayout& layout() const { return layout_; }

  // The end state (docs/spec/mcuboot-trailer.md#end-state) after a swap of
  // `type` has completed.
  void ExpectEndState(SwapType type) const {
    auto p = primary_trailer().Read();
    auto s = secondary_trailer().Read();
    ASSERT_TRUE(p.ok() && s.ok());
    EXPECT_EQ(p->magic, MagicState::kGood);
    EXPECT_EQ(p->copy_done, FlagState::kSet);
    EXPECT_EQ(p->image_ok, type == SwapType::kTest ? FlagState::kUnset : FlagState::kSet);
    EXPECT_EQ(s->magic, MagicState::kUnset);
  }

 private:
  RigLayout layout_;
  std::array<flash::SectorRun, 1> runs_;
  flash::testing::OwnedNorFlash chip_;
  flash::FlashArea primary_;
  flash::FlashArea secondary_;
  flash::FlashArea scratch_;
};

}  // namespace mqota::boot::testing
