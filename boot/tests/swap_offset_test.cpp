// Swap using offset on the NOR model, the algorithm alone (the bootloader's
// power-cut matrices in swap_boot_test.cpp and torn_swap_test.cpp run it end
// to end): geometry, where the images sit, clean swaps against MCUboot's
// counts, the revert record, a stuck revert, and a cut at every operation of
// TEST + REVERT and PERM over W in {1, 2, 4, 8} x erased {0xFF, 0x00}
// (docs/spec/mcuboot-trailer.md#swap-using-offset,
// docs/spec/power-loss-testing.md#operation-counts).
#include "mqota/boot/swap_offset.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "mqota/boot/app_api.h"
#include "mqota/boot/swap_type.h"
#include "swap_rig.h"

namespace mqota::boot {
namespace {

using testing::RigLayout;
using testing::SwapRig;

constexpr uint32_t kSector = 4096;
// Reference geometry images (about 101.1 KiB): 26 sectors to swap.
constexpr uint32_t kOldImageBytes = 0x19400;
constexpr uint32_t kNewImageBytes = 0x19480;

struct OpCounts {
  uint32_t erases = 0;
  uint32_t writes = 0;
  uint32_t total() const { return erases + writes; }
};
// MCUboot's swap-offset on that geometry, derived from swap_offset.c (see
// bench/boot_ops_bench.cpp): a ceiling, as the measured counts are for the others.
constexpr OpCounts kMcubootTest{54, 265};
constexpr OpCounts kMcubootPerm{54, 266};
constexpr OpCounts kMcubootRevert{57, 270};

RigLayout OffsetLayout(uint32_t write_size = 8, uint8_t erased = 0xff,
                       uint32_t secondary_sectors = 33) {
  RigLayout layout;
  layout.primary_sectors = 32;
  layout.secondary_sectors = secondary_sectors;
  layout.scratch_sectors = 0;
  layout.write_size = write_size;
  layout.erased = erased;
  return layout;
}

// A device with an old image in the primary and a pending new one, one sector
// into the secondary, as the application stages it.
class Device {
 public:
  Device(const RigLayout& layout, bool permanent)
      : rig_(layout),
        old_(SwapRig::Image(kOldImageBytes, 1)),
        new_(SwapRig::Image(kNewImageBytes, 2)) {
    rig_.Place(rig_.primary(), old_);
    rig_.Place(rig_.secondary(), new_, kSector);
    EXPECT_TRUE(SetPending(rig_.secondary_trailer(), permanent).ok());
    rig_.chip().ResetCounters();
  }
  SwapRig& rig() { return rig_; }
  SwapContext context() const { return rig_.context(); }
  bool PrimaryHolds(const std::vector<uint8_t>& image) const {
    return rig_.Read(rig_.primary(), image.size()) == image;
  }
  bool SecondaryHolds(const std::vector<uint8_t>& image, uint32_t at) const {
    return rig_.Read(rig_.secondary(), image.size(), at) == image;
  }
  const std::vector<uint8_t>& old_image() const { return old_; }
  const std::vector<uint8_t>& new_image() const { return new_; }

 private:
  SwapRig rig_;
  std::vector<uint8_t> old_;
  std::vector<uint8_t> new_;
};

OpCounts Counts(flash::NorFlashModel& chip) {
  return {chip.counters().erases, chip.counters().writes};
}

// One bootloader pass of the algorithm alone: resume, else decide and swap.
BootStatus BootOnce(SwapOffset& offset, Device& device) {
  MQOTA_TRY_ASSIGN(const ResumeResult resumed, offset.Resume(device.context()));
  if (resumed.kind == ResumeKind::kCompleted) return {};
  if (resumed.kind == ResumeKind::kRestartNeeded) {
    return offset.Swap(device.context(), resumed.type, resumed.swap_size);
  }
  MQOTA_TRY_ASSIGN(const TrailerState p, device.rig().primary_trailer().Read());
  MQOTA_TRY_ASSIGN(const TrailerState s, device.rig().secondary_trailer().Read());
  const SwapType type = DecideSwapType(p, s);
  if (type == SwapType::kNone) return {};
  return offset.Swap(device.context(), type, kNewImageBytes);
}

TEST(SwapOffsetGeometry, CompatibleLayoutsMaxImageSizeAndOffsets) {
  SwapOffset offset;
  EXPECT_STREQ(offset.name(), "swap-offset");
  {
    SwapRig rig(OffsetLayout());
    EXPECT_TRUE(offset.IsCompatible(rig.context()));
    // min(32*S - S, 33*S - S - S) = 31 sectors.
    EXPECT_EQ(offset.MaxImageSize(rig.context()), 31u * kSector);
    EXPECT_EQ(offset.SourceOffset(rig.context(), SwapType::kTest), kSector);
    EXPECT_EQ(offset.SourceOffset(rig.context(), SwapType::kPerm), kSector);
    EXPECT_EQ(offset.SourceOffset(rig.context(), SwapType::kRevert), 0u);
    EXPECT_EQ(offset.MovedOutOffset(rig.context(), SwapType::kTest), 0u);
    EXPECT_EQ(offset.MovedOutOffset(rig.context(), SwapType::kRevert), kSector);
  }
  {
    SwapRig rig(OffsetLayout(8, 0xff, 32));  // same-size slots: one sector lost
    EXPECT_TRUE(offset.IsCompatible(rig.context()));
    EXPECT_EQ(offset.MaxImageSize(rig.context()), 30u * kSector);
  }
  for (uint32_t secondary_sectors : {31u, 34u}) {
    SwapRig rig(OffsetLayout(8, 0xff, secondary_sectors));
    EXPECT_FALSE(offset.IsCompatible(rig.context())) << secondary_sectors;
    EXPECT_EQ(offset.MaxImageSize(rig.context()), 0u);
    EXPECT_EQ(offset.SourceOffset(rig.context(), SwapType::kTest), 0u);
  }
  {
    RigLayout layout = OffsetLayout();
    layout.max_sectors = 31;  // 32 primary sectors need 32 status pairs
    EXPECT_FALSE(offset.IsCompatible(SwapRig(layout).context()));
  }
}

TEST(SwapOffsetGeometry, RefusesOversizedSwapWithoutWriting) {
  Device device(OffsetLayout(), /*permanent=*/true);
  SwapOffset offset;
  const uint32_t max = offset.MaxImageSize(device.context());
  EXPECT_FALSE(offset.Swap(device.context(), SwapType::kPerm, max + 1).ok());
  EXPECT_EQ(device.rig().chip().operations(), 0u);
  EXPECT_TRUE(device.PrimaryHolds(device.old_image()));
  EXPECT_EQ(device.rig().secondary_trailer().Read()->magic, MagicState::kGood);
}

void PrintCounts(const char* what, const OpCounts& ours, const OpCounts& mcuboot,
                 uint32_t max_sector_erases) {
  std::printf(
      "[swap-offset] %-6s erases %3u writes %3u total %3u  (MCUboot, derived: %u + %u = %u)  "
      "max erases of one sector %u\n",
      what, ours.erases, ours.writes, ours.total(), mcuboot.erases, mcuboot.writes, mcuboot.total(),
      max_sector_erases);
}

TEST(SwapOffsetClean, TestThenRevertThenPermOnReferenceGeometry) {
  SwapOffset offset;
  Device device(OffsetLayout(), /*permanent=*/false);
  auto& chip = device.rig().chip();
  ASSERT_TRUE(BootOnce(offset, device).ok());
  const OpCounts test = Counts(chip);
  PrintCounts("TEST", test, kMcubootTest, chip.max_erase_count());
  EXPECT_LE(test.total(), kMcubootTest.total());
  EXPECT_EQ(chip.max_erase_count(), 1u) << "each sector is erased once per swap";
  device.rig().ExpectEndState(SwapType::kTest);
  EXPECT_TRUE(device.PrimaryHolds(device.new_image()));
  EXPECT_TRUE(device.SecondaryHolds(device.old_image(), 0));

  chip.ResetCounters();
  ASSERT_TRUE(BootOnce(offset, device).ok());  // not confirmed: the revert
  const OpCounts revert = Counts(chip);
  PrintCounts("REVERT", revert, kMcubootRevert, chip.max_erase_count());
  EXPECT_LE(revert.total(), kMcubootRevert.total());
  device.rig().ExpectEndState(SwapType::kRevert);
  EXPECT_TRUE(device.PrimaryHolds(device.old_image()));
  EXPECT_TRUE(device.SecondaryHolds(device.new_image(), kSector));
  std::vector<uint8_t> first(kSector);
  ASSERT_TRUE(device.rig().secondary().Read(0, first).ok());
  EXPECT_EQ(first, std::vector<uint8_t>(kSector, 0xff)) << "secondary sector 0 erased";
  EXPECT_EQ(chip.counters().refused, 0u);
  chip.ResetCounters();
  ASSERT_TRUE(BootOnce(offset, device).ok());
  EXPECT_EQ(chip.operations(), 0u) << "stable after the revert";

  Device perm_device(OffsetLayout(), /*permanent=*/true);
  ASSERT_TRUE(BootOnce(offset, perm_device).ok());
  const OpCounts perm = Counts(perm_device.rig().chip());
  PrintCounts("PERM", perm, kMcubootPerm, perm_device.rig().chip().max_erase_count());
  EXPECT_LE(perm.total(), kMcubootPerm.total());
  perm_device.rig().ExpectEndState(SwapType::kPerm);
}

TEST(SwapOffsetRevert, ACutAfterTheRevertRecordRestartsTheRevert) {
  SwapOffset offset;
  Device device(OffsetLayout(), /*permanent=*/false);
  ASSERT_TRUE(BootOnce(offset, device).ok());
  // The revert's first operations: erase the secondary trailer, swap_info,
  // swap_size, magic (the record), then erase the primary trailer. Cut there.
  device.rig().chip().CutPowerAfter(5);
  EXPECT_FALSE(BootOnce(offset, device).ok());
  device.rig().chip().PowerOn();
  const auto resumed = offset.Resume(device.context());
  ASSERT_TRUE(resumed.ok());
  EXPECT_EQ(resumed->kind, ResumeKind::kRestartNeeded);
  EXPECT_EQ(resumed->type, SwapType::kRevert);
  ASSERT_TRUE(offset.Swap(device.context(), SwapType::kRevert, resumed->swap_size).ok());
  device.rig().ExpectEndState(SwapType::kRevert);
  EXPECT_TRUE(device.PrimaryHolds(device.old_image()));
  EXPECT_TRUE(device.SecondaryHolds(device.new_image(), kSector));
  EXPECT_EQ(device.rig().chip().counters().refused, 0u);
}

TEST(SwapOffsetRevert, ErasedOldImageClearsThePendingRevert) {
  SwapOffset offset;
  Device device(OffsetLayout(), /*permanent=*/false);
  ASSERT_TRUE(BootOnce(offset, device).ok());
  ASSERT_TRUE(device.rig().secondary().Erase(0, kSector).ok());  // the old image's header
  ASSERT_TRUE(offset.Swap(device.context(), SwapType::kRevert, kNewImageBytes).ok());
  EXPECT_TRUE(device.PrimaryHolds(device.new_image())) << "nothing to revert to";
  EXPECT_EQ(device.rig().primary_trailer().Read()->magic, MagicState::kUnset);
  EXPECT_EQ(device.rig().secondary_trailer().Read()->magic, MagicState::kUnset);
}

// Power cut after every operation, over the write sizes and erased values.
struct CutCase {
  uint32_t write_size;
  uint8_t erased;
};

class SwapOffsetCut : public ::testing::TestWithParam<CutCase> {
 protected:
  RigLayout Layout() const { return OffsetLayout(GetParam().write_size, GetParam().erased); }

  // Boots with a cut after `k` operations, then boots until one completes.
  static void BootWithCut(SwapOffset& offset, Device& device, uint32_t k) {
    device.rig().chip().CutPowerAfter(k);
    const bool done = BootOnce(offset, device).ok();
    device.rig().chip().PowerOn();
    if (!done) {
      ASSERT_TRUE(BootOnce(offset, device).ok());
    }
  }
};

TEST_P(SwapOffsetCut, TestThenRevertCutAtEveryOperation) {
  SwapOffset offset;
  uint32_t test_ops = 0;
  uint32_t revert_ops = 0;
  {
    Device device(Layout(), false);
    ASSERT_TRUE(BootOnce(offset, device).ok());
    test_ops = device.rig().chip().operations();
    device.rig().chip().ResetCounters();
    ASSERT_TRUE(BootOnce(offset, device).ok());
    revert_ops = device.rig().chip().operations();
  }
  for (uint32_t k = 0; k < std::max(test_ops, revert_ops); ++k) {
    SCOPED_TRACE("TEST/REVERT cut after " + std::to_string(k));
    Device device(Layout(), false);
    BootWithCut(offset, device, k);
    const auto state =
        ReadSwapState(device.rig().primary_trailer(), device.rig().secondary_trailer());
    ASSERT_TRUE(state.ok());
    if (state->running_unconfirmed) {
      EXPECT_TRUE(device.PrimaryHolds(device.new_image()));
      EXPECT_TRUE(device.SecondaryHolds(device.old_image(), 0));
      BootWithCut(offset, device, k);
    }
    device.rig().ExpectEndState(SwapType::kRevert);
    EXPECT_TRUE(device.PrimaryHolds(device.old_image()));
    EXPECT_TRUE(device.SecondaryHolds(device.new_image(), kSector));
    EXPECT_EQ(device.rig().chip().counters().refused, 0u);
    if (::testing::Test::HasFailure()) return;
  }
}

TEST_P(SwapOffsetCut, PermCutAtEveryOperation) {
  SwapOffset offset;
  uint32_t total = 0;
  {
    Device device(Layout(), true);
    ASSERT_TRUE(BootOnce(offset, device).ok());
    total = device.rig().chip().operations();
  }
  for (uint32_t k = 0; k < total; ++k) {
    SCOPED_TRACE("PERM cut after " + std::to_string(k));
    Device device(Layout(), true);
    BootWithCut(offset, device, k);
    device.rig().ExpectEndState(SwapType::kPerm);
    EXPECT_TRUE(device.PrimaryHolds(device.new_image()));
    EXPECT_TRUE(device.SecondaryHolds(device.old_image(), 0));
    EXPECT_EQ(device.rig().chip().counters().refused, 0u);
    if (::testing::Test::HasFailure()) return;
  }
}

std::string CutCaseName(const ::testing::TestParamInfo<CutCase>& info) {
  return "W" + std::to_string(info.param.write_size) + (info.param.erased == 0xff ? "_FF" : "_00");
}

INSTANTIATE_TEST_SUITE_P(SwapOffsetMatrix, SwapOffsetCut,
                         ::testing::Values(CutCase{1, 0xff}, CutCase{2, 0xff}, CutCase{4, 0xff},
                                           CutCase{8, 0xff}, CutCase{1, 0x00}, CutCase{2, 0x00},
                                           CutCase{4, 0x00}, CutCase{8, 0x00}),
                         CutCaseName);

}  // namespace
}  // namespace mqota::boot
