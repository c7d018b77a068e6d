// The bootloader with swap upgrades (scratch, move and offset), end to end with
// ECDSA-signed images on the NOR model: MCUboot's simulator scenarios
// (docs/spec/power-loss-testing.md#upstream-test-scenarios) and the
// invariants of docs/spec/power-loss-testing.md#invariants-after-a-cut after a
// power cut at every flash operation.
#include <gtest/gtest.h>

#include <memory>
#include <random>

#include "boot_rig.h"
#include "mqota/boot/app_api.h"
#include "mqota/boot/swap_move.h"
#include "mqota/boot/swap_offset.h"
#include "mqota/boot/swap_scratch.h"

namespace mqota::boot {
namespace {

using testing::BootRig;
using testing::RigLayout;

struct Scenario {
  const char* name;
  // Algorithms hold no state between calls: one instance serves every test.
  SwapAlgorithm* algorithm;
  RigLayout layout;
  uint32_t v1_payload_bytes = 100000;
  uint32_t v2_payload_bytes = 90000;
};

RigLayout MoveLayout(RigLayout l = {}) {
  l.primary_sectors = l.secondary_sectors + 1;
  l.scratch_sectors = 0;
  return l;
}

// Swap-offset's layout without waste: the secondary one sector larger.
RigLayout OffsetLayout(RigLayout l = {}) {
  l.secondary_sectors = l.primary_sectors + 1;
  l.scratch_sectors = 0;
  return l;
}

std::vector<Scenario> Scenarios() {
  static SwapScratch scratch;
  static SwapMove move;
  static SwapOffset offset;
  RigLayout w1;
  w1.write_size = 1;
  RigLayout w2_erased00;
  w2_erased00.write_size = 2;
  w2_erased00.erased = 0x00;
  RigLayout same_size;  // both slots of 32 sectors: allowed, one sector wasted
  same_size.scratch_sectors = 0;
  RigLayout big_scratch;
  big_scratch.scratch_sectors = 3;  // does not divide the 32-sector slot
  // A PSoC 6-like device: 512-byte rows, 64 KiB slots, one row of scratch.
  RigLayout rows;
  rows.sector_bytes = 512;
  rows.primary_sectors = rows.secondary_sectors = 128;
  rows.max_sectors = 256;  // swap-move's primary has 129 rows
  return {{"SwapScratch", &scratch, RigLayout{}},
          {"SwapScratch3SectorScratch", &scratch, big_scratch},
          {"SwapMove", &move, MoveLayout()},
          {"SwapScratch512ByteRows", &scratch, rows, 30000, 20000},
          {"SwapMove512ByteRows", &move, MoveLayout(rows), 30000, 20000},
          {"SwapOffset", &offset, OffsetLayout()},
          {"SwapOffsetW1", &offset, OffsetLayout(w1)},
          {"SwapOffsetW2Erased00", &offset, OffsetLayout(w2_erased00)},
          {"SwapOffsetSameSizeSlots", &offset, same_size},
          {"SwapOffset512ByteRows", &offset, OffsetLayout(rows), 30000, 20000}};
}

const image::ImageVersion kV1{1, 0, 0, 0};
const image::ImageVersion kV2{1, 1, 0, 0};

class SwapBoot : public ::testing::TestWithParam<Scenario> {
 protected:
  std::unique_ptr<BootRig> Fresh(bool permanent) {
    auto rig = std::make_unique<BootRig>(GetParam().layout, GetParam().algorithm);
    if (v1_.empty()) {
      v1_ = rig->MakeImage(kV1, GetParam().v1_payload_bytes, 1);
      v2_ = rig->MakeImage(kV2, GetParam().v2_payload_bytes, 2);
    }
    rig->rig().Place(rig->rig().primary(), v1_);
    rig->rig().Place(rig->rig().secondary(), v2_, Algorithm().SourceOffset(Context(*rig), kTest));
    EXPECT_TRUE(SetPending(rig->rig().secondary_trailer(), permanent).ok());
    rig->rig().chip().ResetCounters();
    return rig;
  }

  static SwapAlgorithm& Algorithm() { return *GetParam().algorithm; }
  static SwapContext Context(BootRig& rig) { return rig.rig().context(); }
  static constexpr SwapType kTest = SwapType::kTest;

  // The slots after a swap of `swap`: the booted image in the primary, the
  // one moved out where the algorithm leaves it in the secondary.
  static void ExpectSlots(BootRig& rig, const std::vector<uint8_t>& primary,
                          const std::vector<uint8_t>& secondary, SwapType swap) {
    EXPECT_EQ(rig.rig().Read(rig.rig().primary(), primary.size()), primary);
    EXPECT_EQ(rig.rig().Read(rig.rig().secondary(), secondary.size(),
                             Algorithm().MovedOutOffset(Context(rig), swap)),
              secondary);
  }

  // Boots until a boot completes (at most a few attempts), with the power cut
  // after `k` operations on the first attempt.
  static BootOutcome BootWithCut(BootRig& rig, uint32_t k) {
    rig.rig().chip().CutPowerAfter(k);
    auto cut = rig.Boot();
    rig.rig().chip().PowerOn();
    if (cut.ok()) return *cut;  // k was beyond the boot's last operation
    auto outcome = rig.Boot();
    EXPECT_TRUE(outcome.ok()) << Describe(outcome.error().code);
    return outcome.ok() ? *outcome : BootOutcome{};
  }

  // One more boot must change nothing
  // (docs/spec/power-loss-testing.md#invariants-after-a-cut, invariant 3).
  static void ExpectStable(BootRig& rig) {
    rig.rig().chip().ResetCounters();
    auto again = rig.Boot();
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(again->swap, SwapType::kNone);
    EXPECT_EQ(rig.rig().chip().operations(), 0u);
  }

  std::vector<uint8_t> v1_, v2_;
};

TEST_P(SwapBoot, TestUpgradeRevertsUnlessConfirmed) {
  auto rig = Fresh(false);
  auto first = rig->Boot();
  ASSERT_TRUE(first.ok()) << Describe(first.error().code);
  EXPECT_EQ(first->swap, SwapType::kTest);
  EXPECT_FALSE(first->confirmed);
  EXPECT_EQ(first->layout.header.version, kV2);
  EXPECT_EQ(first->previous_version, kV1);
  ExpectSlots(*rig, v2_, v1_, SwapType::kTest);
  rig->rig().ExpectEndState(SwapType::kTest);

  auto second = rig->Boot();  // the app never confirmed: revert
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->swap, SwapType::kRevert);
  EXPECT_TRUE(second->confirmed);
  EXPECT_EQ(second->layout.header.version, kV1);
  EXPECT_EQ(second->previous_version, kV2);  // the trial image that was not confirmed
  ExpectSlots(*rig, v1_, v2_, SwapType::kRevert);
  rig->rig().ExpectEndState(SwapType::kRevert);
  ExpectStable(*rig);
}

TEST_P(SwapBoot, ConfirmedTestUpgradeStays) {
  auto rig = Fresh(false);
  ASSERT_TRUE(rig->Boot().ok());
  ASSERT_TRUE(SetConfirmed(rig->rig().primary_trailer()).ok());
  auto second = rig->Boot();
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->swap, SwapType::kNone);
  EXPECT_EQ(second->previous_version, std::nullopt);  // no swap this boot
  EXPECT_TRUE(second->confirmed);
  EXPECT_EQ(second->layout.header.version, kV2);
  ExpectStable(*rig);
}

TEST_P(SwapBoot, PermanentUpgradeAtEveryPowerCut) {
  uint32_t total = 0;
  {
    auto rig = Fresh(true);
    auto clean = rig->Boot();
    ASSERT_TRUE(clean.ok());
    EXPECT_EQ(clean->swap, SwapType::kPerm);
    total = rig->rig().chip().operations();
  }
  for (uint32_t k = 0; k < total; ++k) {
    SCOPED_TRACE(std::string(GetParam().name) + ": PERM cut after " + std::to_string(k));
    auto rig = Fresh(true);
    const BootOutcome outcome = BootWithCut(*rig, k);
    EXPECT_EQ(outcome.layout.header.version, kV2);
    EXPECT_TRUE(outcome.confirmed);
    ExpectSlots(*rig, v2_, v1_, SwapType::kPerm);
    rig->rig().ExpectEndState(SwapType::kPerm);
    EXPECT_EQ(rig->rig().chip().counters().refused, 0u);
    ExpectStable(*rig);
    if (::testing::Test::HasFailure()) return;
  }
}

TEST_P(SwapBoot, TestUpgradeAndItsRevertAtEveryPowerCut) {
  uint32_t total = 0;
  {
    auto rig = Fresh(false);
    ASSERT_TRUE(rig->Boot().ok());
    total = rig->rig().chip().operations();
  }
  for (uint32_t k = 0; k < total; ++k) {
    SCOPED_TRACE(std::string(GetParam().name) + ": TEST/REVERT cut after " + std::to_string(k));
    auto rig = Fresh(false);
    const BootOutcome upgraded = BootWithCut(*rig, k);
    EXPECT_EQ(upgraded.layout.header.version, kV2);
    EXPECT_FALSE(upgraded.confirmed);
    ExpectSlots(*rig, v2_, v1_, SwapType::kTest);
    rig->rig().ExpectEndState(SwapType::kTest);
    rig->rig().chip().ResetCounters();
    const BootOutcome reverted = BootWithCut(*rig, k);
    EXPECT_EQ(reverted.swap, SwapType::kRevert);  // reported as such, even when resumed
    EXPECT_EQ(reverted.layout.header.version, kV1);
    EXPECT_EQ(reverted.previous_version, kV2);
    EXPECT_TRUE(reverted.confirmed);
    ExpectSlots(*rig, v1_, v2_, SwapType::kRevert);
    rig->rig().ExpectEndState(SwapType::kRevert);
    EXPECT_EQ(rig->rig().chip().counters().refused, 0u);
    ExpectStable(*rig);
    if (::testing::Test::HasFailure()) return;
  }
}

TEST_P(SwapBoot, RandomMultipleCutsDuringAPermanentUpgrade) {
  const uint32_t seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 random(seed);
  for (int run = 0; run < 20; ++run) {
    auto rig = Fresh(true);
    for (int cut = 0; cut < 5; ++cut) {
      rig->rig().chip().CutPowerAfter(random() % 200);
      const bool done = rig->Boot().ok();
      rig->rig().chip().PowerOn();
      if (done) break;
    }
    auto outcome = rig->Boot();
    ASSERT_TRUE(outcome.ok()) << "run " << run;
    ExpectSlots(*rig, v2_, v1_, SwapType::kPerm);
    EXPECT_EQ(rig->rig().chip().counters().refused, 0u);
  }
}

TEST_P(SwapBoot, BadSignatureNeverTouchesThePrimary) {
  auto rig = Fresh(false);
  auto forged = v2_;
  forged[forged.size() - 3] ^= 0x01;
  rig->rig().Place(rig->rig().secondary(), forged, Algorithm().SourceOffset(Context(*rig), kTest));
  ASSERT_TRUE(SetPending(rig->rig().secondary_trailer(), false).ok());
  const auto before = rig->rig().Read(rig->rig().primary(), rig->rig().primary().size_bytes());
  auto outcome = rig->Boot();
  ASSERT_TRUE(outcome.ok());
  EXPECT_EQ(outcome->rejected, RejectReason::kInvalid);
  EXPECT_EQ(outcome->image_error.code, image::ImageErrc::kBadSignature);
  EXPECT_EQ(rig->rig().Read(rig->rig().primary(), before.size()), before);
  ExpectStable(*rig);
}

INSTANTIATE_TEST_SUITE_P(Algorithms, SwapBoot, ::testing::ValuesIn(Scenarios()),
                         [](const auto& param_info) { return std::string(param_info.param.name); });

}  // namespace
}  // namespace mqota::boot
