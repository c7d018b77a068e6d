// Swap using move on the NOR model: clean swaps against MCUboot's operation
// counts, a power cut at every operation of TEST, PERM and REVERT swaps, random
// multi-cuts, and the states Resume() must leave alone
// (docs/spec/mcuboot-trailer.md#swap-using-move,
// docs/spec/power-loss-testing.md#operation-counts,
// docs/spec/power-loss-testing.md#upstream-test-scenarios,
// docs/spec/power-loss-testing.md#invariants-after-a-cut).
#include "mqota/boot/swap_move.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "mqota/boot/app_api.h"
#include "mqota/boot/swap_type.h"
#include "swap_rig.h"

namespace mqota::boot {
namespace {

using flash::FlashErrc;
using testing::RigLayout;
using testing::SwapRig;

// Reference geometry (docs/spec/power-loss-testing.md#operation-counts): both
// images about 101.1 KiB, so the swap
// moves copy_size 0x19480 bytes, L = 26 sectors of 4 KiB.
constexpr uint32_t kOldImageBytes = 0x19400;
constexpr uint32_t kNewImageBytes = 0x19480;
constexpr uint32_t kCopyBytes = 0x19480;

struct OpCounts {
  uint32_t erases = 0;
  uint32_t writes = 0;
  uint32_t total() const { return erases + writes; }
};
// Upstream swap-move on that geometry
// (docs/spec/power-loss-testing.md#operation-counts) and its worst resume
// overhead (docs/spec/power-loss-testing.md#invariants-after-a-cut, invariant 5).
constexpr OpCounts kMcubootTest{80, 394};
constexpr OpCounts kMcubootPerm{80, 395};
constexpr OpCounts kMcubootRevert{81, 398};
constexpr int64_t kMcubootMaxExtraOps = 7;

RigLayout MoveLayout(uint32_t write_size = 8, uint8_t erased = 0xff,
                     uint32_t primary_sectors = 33) {
  RigLayout layout;
  layout.primary_sectors = primary_sectors;
  layout.secondary_sectors = 32;
  layout.scratch_sectors = 0;
  layout.write_size = write_size;
  layout.erased = erased;
  return layout;
}

// A rig holding the running image in the primary and a staged one (with the
// app's set_pending) in the secondary, counters zeroed.
class Device {
 public:
  Device(const RigLayout& layout, bool permanent, uint32_t old_bytes = kOldImageBytes,
         uint32_t new_bytes = kNewImageBytes)
      : rig_(layout), old_(SwapRig::Image(old_bytes, 1)), new_(SwapRig::Image(new_bytes, 2)) {
    rig_.Place(rig_.primary(), old_);
    rig_.Place(rig_.secondary(), new_);
    EXPECT_TRUE(SetPending(rig_.secondary_trailer(), permanent).ok());
    rig_.chip().ResetCounters();
  }

  SwapRig& rig() { return rig_; }
  SwapContext context() const { return rig_.context(); }
  flash::NorFlashModel& chip() { return rig_.chip(); }
  const std::vector<uint8_t>& old_image() const { return old_; }
  const std::vector<uint8_t>& new_image() const { return new_; }

  // Both slots without their trailer sectors: what a swap must reproduce
  // exactly, wherever it was cut.
  struct Snapshot {
    std::vector<uint8_t> primary;
    std::vector<uint8_t> secondary;
  };
  Snapshot Take() const {
    const uint32_t s = rig_.layout().sector_bytes;
    const uint32_t trailer = AlignUp(context().trailer.trailer_bytes(), s);
    return {rig_.Read(rig_.primary(), rig_.primary().size_bytes() - trailer),
            rig_.Read(rig_.secondary(), rig_.secondary().size_bytes() - trailer)};
  }

  TrailerState Primary() const { return rig_.primary_trailer().Read().value(); }
  TrailerState Secondary() const { return rig_.secondary_trailer().Read().value(); }

 private:
  SwapRig rig_;
  std::vector<uint8_t> old_;
  std::vector<uint8_t> new_;
};

bool SameBytes(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b) { return a == b; }

bool StartsWith(const std::vector<uint8_t>& bytes, const std::vector<uint8_t>& prefix) {
  return bytes.size() >= prefix.size() && std::equal(prefix.begin(), prefix.end(), bytes.begin());
}

// One boot of a bootloader built on SwapMove (validation left out: the images
// here are raw bytes): finish an interrupted swap, restart an initialised one,
// or start what the swap table asks for. `swapped` tells whether it moved data.
BootStatus BootOnce(Device& device, bool* swapped = nullptr) {
  SwapMove move;
  const SwapContext context = device.context();
  if (swapped) *swapped = true;
  MQOTA_TRY_ASSIGN(const ResumeResult resumed, move.Resume(context));
  if (resumed.kind == ResumeKind::kCompleted) return {};
  if (resumed.kind == ResumeKind::kRestartNeeded) {
    return move.Swap(context, resumed.type, resumed.swap_size);
  }
  const SwapType type = DecideSwapType(device.Primary(), device.Secondary());
  if (IsSwap(type)) {
    return move.Swap(context, type, kCopyBytes);
  }
  if (swapped) *swapped = false;
  return {};
}

BootStatus StartSwap(Device& device, SwapType type) {
  SwapMove move;
  return move.Swap(device.context(), type, kCopyBytes);
}

// What a clean run of each swap costs and leaves behind, per layout.
struct Reference {
  OpCounts test, perm, revert;
  Device::Snapshot after_test, after_revert, after_perm;
};

OpCounts CountOps(flash::NorFlashModel& chip) {
  return {chip.counters().erases, chip.counters().writes};
}

Reference CleanRuns(const RigLayout& layout) {
  Reference ref;
  {
    Device device(layout, /*permanent=*/false);
    EXPECT_TRUE(StartSwap(device, SwapType::kTest).ok());
    ref.test = CountOps(device.chip());
    ref.after_test = device.Take();
    device.chip().ResetCounters();
    EXPECT_TRUE(StartSwap(device, SwapType::kRevert).ok());
    ref.revert = CountOps(device.chip());
    ref.after_revert = device.Take();
  }
  {
    Device device(layout, /*permanent=*/true);
    EXPECT_TRUE(StartSwap(device, SwapType::kPerm).ok());
    ref.perm = CountOps(device.chip());
    ref.after_perm = device.Take();
  }
  return ref;
}

void ExpectSwapped(Device& device, const Device::Snapshot& expected, SwapType type) {
  const Device::Snapshot now = device.Take();
  EXPECT_TRUE(SameBytes(now.primary, expected.primary)) << "primary differs";
  EXPECT_TRUE(SameBytes(now.secondary, expected.secondary)) << "secondary differs";
  device.rig().ExpectEndState(type);
  EXPECT_EQ(device.chip().counters().refused, 0u) << "a write hit unerased bytes";
}

// ---------------------------------------------------------------------------
// Geometry.

TEST(SwapMoveGeometry, CompatibleLayoutsAndMaxImageSize) {
  SwapMove move;
  EXPECT_STREQ(move.name(), "swap-move");
  {
    SwapRig rig(MoveLayout(8, 0xff, 33));
    EXPECT_TRUE(move.IsCompatible(rig.context()));
    // min(33*S - S - S, 32*S - S) = 31 sectors.
    EXPECT_EQ(move.MaxImageSize(rig.context()), 31u * 4096);
  }
  {
    SwapRig rig(MoveLayout(8, 0xff, 32));
    EXPECT_TRUE(move.IsCompatible(rig.context()));
    EXPECT_EQ(move.MaxImageSize(rig.context()), 30u * 4096);
  }
  for (uint32_t primary_sectors : {31u, 34u}) {
    SwapRig rig(MoveLayout(8, 0xff, primary_sectors));
    EXPECT_FALSE(move.IsCompatible(rig.context())) << primary_sectors;
    EXPECT_EQ(move.MaxImageSize(rig.context()), 0u);
  }
  {
    RigLayout layout = MoveLayout();
    layout.max_sectors = 32;  // 33 primary sectors need 33 status records
    SwapRig rig(layout);
    EXPECT_FALSE(move.IsCompatible(rig.context()));
  }
}

TEST(SwapMoveGeometry, RefusesOversizedSwapWithoutWriting) {
  for (uint32_t primary_sectors : {33u, 32u}) {
    Device device(MoveLayout(8, 0xff, primary_sectors), /*permanent=*/true);
    SwapMove move;
    const uint32_t max = move.MaxImageSize(device.context());
    const auto before = device.Take();
    EXPECT_FALSE(move.Swap(device.context(), SwapType::kPerm, max + 1).ok());
    EXPECT_EQ(device.chip().operations(), 0u);
    EXPECT_TRUE(SameBytes(device.Take().primary, before.primary));
    EXPECT_EQ(device.Secondary().magic, MagicState::kGood) << "the request must stay";
  }
}

TEST(SwapMoveGeometry, LargestImagesSwapBothWays) {
  for (uint32_t primary_sectors : {33u, 32u}) {
    SwapMove move;
    const uint32_t max = move.MaxImageSize(SwapRig(MoveLayout(8, 0xff, primary_sectors)).context());
    Device device(MoveLayout(8, 0xff, primary_sectors), false, max, max - 100);
    ASSERT_TRUE(move.Swap(device.context(), SwapType::kTest, max).ok());
    device.rig().ExpectEndState(SwapType::kTest);
    EXPECT_TRUE(StartsWith(device.Take().primary, device.new_image()));
    EXPECT_TRUE(StartsWith(device.Take().secondary, device.old_image()));
    ASSERT_TRUE(move.Swap(device.context(), SwapType::kRevert, max).ok());
    device.rig().ExpectEndState(SwapType::kRevert);
    EXPECT_TRUE(StartsWith(device.Take().primary, device.old_image()));
    EXPECT_TRUE(StartsWith(device.Take().secondary, device.new_image()));
    EXPECT_EQ(device.chip().counters().refused, 0u);
  }
}

// ---------------------------------------------------------------------------
// Clean swaps and their cost.

void PrintCounts(const char* what, const OpCounts& ours, const OpCounts& mcuboot,
                 uint32_t max_sector_erases) {
  std::printf(
      "[swap-move] %-6s erases %3u writes %3u total %3u  (MCUboot %u + %u = %u)  "
      "max erases of one sector %u\n",
      what, ours.erases, ours.writes, ours.total(), mcuboot.erases, mcuboot.writes, mcuboot.total(),
      max_sector_erases);
}

TEST(SwapMoveClean, TestThenRevertAndPermOnReferenceGeometry) {
  const RigLayout layout = MoveLayout();
  {
    Device device(layout, /*permanent=*/false);
    const auto original = device.Take();
    ASSERT_TRUE(StartSwap(device, SwapType::kTest).ok());
    const OpCounts test = CountOps(device.chip());
    PrintCounts("TEST", test, kMcubootTest, device.chip().max_erase_count());
    EXPECT_LE(test.erases, kMcubootTest.erases);
    EXPECT_LE(test.writes, kMcubootTest.writes);
    device.rig().ExpectEndState(SwapType::kTest);
    EXPECT_EQ(device.Primary().swap_type, SwapType::kTest);
    auto swapped = device.Take();
    const uint32_t moved = 26 * 4096;
    EXPECT_TRUE(std::equal(swapped.primary.begin(), swapped.primary.begin() + moved,
                           original.secondary.begin()));
    EXPECT_TRUE(std::equal(swapped.secondary.begin(), swapped.secondary.begin() + moved,
                           original.primary.begin()));
    EXPECT_TRUE(StartsWith(swapped.primary, device.new_image()));

    // The next boot without confirmation is the revert.
    EXPECT_EQ(DecideSwapType(device.Primary(), device.Secondary()), SwapType::kRevert);
    device.chip().ResetCounters();
    ASSERT_TRUE(StartSwap(device, SwapType::kRevert).ok());
    const OpCounts revert = CountOps(device.chip());
    PrintCounts("REVERT", revert, kMcubootRevert, device.chip().max_erase_count());
    EXPECT_LE(revert.erases, kMcubootRevert.erases);
    EXPECT_LE(revert.writes, kMcubootRevert.writes);
    device.rig().ExpectEndState(SwapType::kRevert);
    EXPECT_EQ(device.Primary().swap_type, SwapType::kRevert);
    const auto reverted = device.Take();
    EXPECT_TRUE(std::equal(reverted.primary.begin(), reverted.primary.begin() + moved,
                           original.primary.begin()));
    EXPECT_TRUE(std::equal(reverted.secondary.begin(), reverted.secondary.begin() + moved,
                           original.secondary.begin()));
    EXPECT_EQ(device.chip().counters().refused, 0u);

    // Stable afterwards.
    device.chip().ResetCounters();
    bool swapped_again = true;
    ASSERT_TRUE(BootOnce(device, &swapped_again).ok());
    EXPECT_FALSE(swapped_again);
    EXPECT_EQ(device.chip().operations(), 0u);
  }
  {
    Device device(layout, /*permanent=*/true);
    ASSERT_TRUE(StartSwap(device, SwapType::kPerm).ok());
    const OpCounts perm = CountOps(device.chip());
    PrintCounts("PERM", perm, kMcubootPerm, device.chip().max_erase_count());
    EXPECT_LE(perm.erases, kMcubootPerm.erases);
    EXPECT_LE(perm.writes, kMcubootPerm.writes);
    device.rig().ExpectEndState(SwapType::kPerm);
    EXPECT_TRUE(StartsWith(device.Take().primary, device.new_image()));
    EXPECT_TRUE(StartsWith(device.Take().secondary, device.old_image()));
    device.chip().ResetCounters();
    bool swapped_again = true;
    ASSERT_TRUE(BootOnce(device, &swapped_again).ok());
    EXPECT_FALSE(swapped_again);
    EXPECT_EQ(device.chip().operations(), 0u);
  }
}

// ---------------------------------------------------------------------------
// Resume() must leave alone what it does not own.

TEST(SwapMoveResume, NothingInProgressWritesNothing) {
  SwapMove move;
  auto expect_nothing = [&](Device& device, const char* what) {
    SCOPED_TRACE(what);
    device.chip().ResetCounters();
    auto result = move.Resume(device.context());
    ASSERT_TRUE(result.ok());
    EXPECT_EQ(result->kind, ResumeKind::kNothingInProgress);
    EXPECT_EQ(device.chip().operations(), 0u);
  };
  {
    // Untouched trailers: no request in the secondary, none in the primary.
    Device device(MoveLayout(), false);
    ASSERT_TRUE(device.rig().secondary_trailer().EraseSectors().ok());
    expect_nothing(device, "untouched");
  }
  {
    Device device(MoveLayout(), false);
    expect_nothing(device, "pending test request");
  }
  {
    // An imgtool --pad image in the primary: magic only, no swap recorded.
    Device device(MoveLayout(), false);
    ASSERT_TRUE(device.rig().secondary_trailer().EraseSectors().ok());
    ASSERT_TRUE(device.rig().primary_trailer().WriteMagic().ok());
    expect_nothing(device, "padded primary");
  }
  {
    Device device(MoveLayout(), false);
    ASSERT_TRUE(StartSwap(device, SwapType::kTest).ok());
    expect_nothing(device, "completed test");
  }
}

TEST(SwapMoveResume, InitialisedSwapWithoutProgressRestarts) {
  for (bool permanent : {false, true}) {
    Device device(MoveLayout(), permanent);
    // Primary trailer erase, its 3 or 4 fields, the secondary trailer erase;
    // the cut falls on the first move step.
    const uint32_t set_up = permanent ? 6 : 5;
    device.chip().CutPowerAfter(set_up);
    const SwapType type = permanent ? SwapType::kPerm : SwapType::kTest;
    EXPECT_FALSE(StartSwap(device, type).ok());
    device.chip().PowerOn();
    device.chip().ResetCounters();
    SwapMove move;
    auto resumed = move.Resume(device.context());
    ASSERT_TRUE(resumed.ok());
    EXPECT_EQ(resumed->kind, ResumeKind::kRestartNeeded);
    EXPECT_EQ(resumed->type, type);
    EXPECT_EQ(resumed->swap_size, kCopyBytes);
    EXPECT_EQ(device.chip().operations(), 0u);
    // The restart keeps the primary trailer that now records the swap.
    ASSERT_TRUE(move.Swap(device.context(), resumed->type, resumed->swap_size).ok());
    device.rig().ExpectEndState(type);
    EXPECT_TRUE(StartsWith(device.Take().primary, device.new_image()));
    EXPECT_EQ(device.chip().counters().refused, 0u);
  }
}

// ---------------------------------------------------------------------------
// Stuck revert
// (docs/spec/mcuboot-trailer.md#rule-8-never-leave-a-request-that-cannot-complete).

TEST(SwapMoveStuckRevert, ErasedSecondaryHeaderClearsThePendingRevert) {
  for (uint32_t cut = 0; cut <= 2; ++cut) {
    SCOPED_TRACE("cut after " + std::to_string(cut));
    Device device(MoveLayout(), false);
    ASSERT_TRUE(StartSwap(device, SwapType::kTest).ok());
    SwapMove move;
    auto untouched = move.ClearStuckRevert(device.context());
    ASSERT_TRUE(untouched.ok());
    EXPECT_FALSE(*untouched) << "the old image is still there to revert to";
    // The app starts a new download while running the unconfirmed image.
    ASSERT_TRUE(device.rig().secondary().Erase(0, 4096).ok());
    const auto before = device.Take();
    device.chip().ResetCounters();
    if (cut < 2) {
      device.chip().CutPowerAfter(cut);
      EXPECT_FALSE(StartSwap(device, SwapType::kRevert).ok());
      device.chip().PowerOn();
      EXPECT_EQ(DecideSwapType(device.Primary(), device.Secondary()), SwapType::kRevert);
    }
    bool swapped = false;
    ASSERT_TRUE(BootOnce(device, &swapped).ok());
    EXPECT_EQ(device.Primary().magic, MagicState::kUnset);
    EXPECT_EQ(device.Secondary().magic, MagicState::kUnset);
    EXPECT_EQ(DecideSwapType(device.Primary(), device.Secondary()), SwapType::kNone);
    EXPECT_TRUE(SameBytes(device.Take().primary, before.primary)) << "running image untouched";
    EXPECT_EQ(device.chip().counters().refused, 0u);
  }
}

// ---------------------------------------------------------------------------
// A power cut at every operation (perm_with_fails, revert_with_fails of
// docs/spec/power-loss-testing.md#upstream-test-scenarios).

struct CutStats {
  uint32_t cut_points = 0;
  int64_t max_extra = 0;
};

// Cuts `start` after k operations, then boots once more with the power on:
// that boot must finish the swap, at a bounded extra cost.
void CutThenBoot(Device& device, uint32_t k, uint32_t total,
                 const std::function<BootStatus()>& start, CutStats* stats) {
  auto& chip = device.chip();
  chip.CutPowerAfter(k);
  const BootStatus cut = start();
  ASSERT_FALSE(cut.ok()) << "the cut at " << k << " did not stop the swap";
  EXPECT_EQ(cut.error().code, BootErrc::kFlash);
  EXPECT_EQ(cut.error().flash.code, FlashErrc::kPowerLost);
  chip.PowerOn();
  const uint32_t before = chip.operations();
  bool swapped = false;
  ASSERT_TRUE(BootOnce(device, &swapped).ok());
  const int64_t extra = int64_t{chip.operations() - before} - int64_t{total - k};
  stats->max_extra = std::max(stats->max_extra, extra);
  ++stats->cut_points;
  EXPECT_LE(extra, kMcubootMaxExtraOps) << "cut at " << k;
}

// The boot after a finished swap: nothing left to do (TEST excepted: its next
// boot is the revert).
void ExpectStable(Device& device) {
  const uint32_t before = device.chip().operations();
  bool swapped = true;
  ASSERT_TRUE(BootOnce(device, &swapped).ok());
  EXPECT_FALSE(swapped);
  EXPECT_EQ(device.chip().operations(), before);
}

struct CutCase {
  uint32_t write_size;
  uint8_t erased;
  uint32_t primary_sectors = 33;
};

std::string CutCaseName(const ::testing::TestParamInfo<CutCase>& info) {
  // Appended, not `"W" + std::to_string(...)`: GCC 12 at -O3 reports a false
  // -Wrestrict in that operator+ (GCC bug 105651), which -Werror makes fatal.
  std::string name = "W";
  name += std::to_string(info.param.write_size) + (info.param.erased == 0xff ? "_FF" : "_00") +
          "_P" + std::to_string(info.param.primary_sectors);
  return name;
}

class SwapMoveCut : public ::testing::TestWithParam<CutCase> {
 protected:
  RigLayout layout() const {
    return MoveLayout(GetParam().write_size, GetParam().erased, GetParam().primary_sectors);
  }
};

TEST_P(SwapMoveCut, TestThenRevertCutAtEveryOperation) {
  const RigLayout rig_layout = layout();
  const Reference ref = CleanRuns(rig_layout);
  const uint32_t test_total = ref.test.total();
  const uint32_t revert_total = ref.revert.total();
  CutStats test_stats, revert_stats;
  for (uint32_t k = 0; k < std::max(test_total, revert_total); ++k) {
    SCOPED_TRACE("cut at " + std::to_string(k));
    Device device(rig_layout, /*permanent=*/false);
    if (k < test_total) {
      CutThenBoot(
          device, k, test_total, [&] { return StartSwap(device, SwapType::kTest); }, &test_stats);
    } else {
      ASSERT_TRUE(StartSwap(device, SwapType::kTest).ok());
    }
    if (::testing::Test::HasFatalFailure()) return;
    ExpectSwapped(device, ref.after_test, SwapType::kTest);
    EXPECT_EQ(device.Primary().swap_type, SwapType::kTest);
    if (k >= revert_total) continue;
    CutThenBoot(
        device, k, revert_total, [&] { return StartSwap(device, SwapType::kRevert); },
        &revert_stats);
    if (::testing::Test::HasFatalFailure()) return;
    ExpectSwapped(device, ref.after_revert, SwapType::kRevert);
    ExpectStable(device);
    if (::testing::Test::HasFailure()) return;
  }
  std::printf(
      "[swap-move] %s TEST: %u cut points, max extra ops %lld; REVERT: %u cut points, "
      "max extra ops %lld (MCUboot: %lld)\n",
      rig_layout.Name().c_str(), test_stats.cut_points,
      static_cast<long long>(test_stats.max_extra), revert_stats.cut_points,
      static_cast<long long>(revert_stats.max_extra), static_cast<long long>(kMcubootMaxExtraOps));
}

TEST_P(SwapMoveCut, PermCutAtEveryOperation) {
  const RigLayout rig_layout = layout();
  const Reference ref = CleanRuns(rig_layout);
  const uint32_t total = ref.perm.total();
  CutStats stats;
  for (uint32_t k = 0; k < total; ++k) {
    SCOPED_TRACE("cut at " + std::to_string(k));
    Device device(rig_layout, /*permanent=*/true);
    CutThenBoot(
        device, k, total, [&] { return StartSwap(device, SwapType::kPerm); }, &stats);
    if (::testing::Test::HasFatalFailure()) return;
    ExpectSwapped(device, ref.after_perm, SwapType::kPerm);
    ExpectStable(device);
    if (::testing::Test::HasFailure()) return;
  }
  std::printf("[swap-move] %s PERM: %u cut points, max extra ops %lld (MCUboot: %lld)\n",
              rig_layout.Name().c_str(), stats.cut_points, static_cast<long long>(stats.max_extra),
              static_cast<long long>(kMcubootMaxExtraOps));
}

// ---------------------------------------------------------------------------
// Random multi-cuts (perm_with_random_fails of
// docs/spec/power-loss-testing.md#upstream-test-scenarios): up to 5 successive
// cuts, each after a random number of operations up to half of what is left.

// Runs `start`, then boots, with `cuts` power cuts along the way, then one boot
// with the power on. The first attempt is `start`, the later ones BootOnce.
void RunWithCuts(Device& device, uint32_t total, uint32_t cuts, std::mt19937& random,
                 const std::function<BootStatus()>& start, uint32_t* fired) {
  auto& chip = device.chip();
  uint32_t remaining = total;
  bool started = false;
  for (uint32_t i = 0; i < cuts && remaining >= 2; ++i) {
    const uint32_t k = std::uniform_int_distribution<uint32_t>(1, remaining / 2)(random);
    chip.CutPowerAfter(k);
    const BootStatus result = started ? BootOnce(device) : start();
    started = true;
    if (result.ok()) {
      // The swap finished before the cut fell (a resume can take fewer
      // operations than the count left suggests).
      chip.CancelPowerCut();
      return;
    }
    ASSERT_EQ(result.error().flash.code, FlashErrc::kPowerLost);
    chip.PowerOn();
    remaining -= k;
    ++*fired;
  }
  ASSERT_TRUE((started ? BootOnce(device) : start()).ok());
}

TEST_P(SwapMoveCut, RandomMultiCuts) {
  const RigLayout rig_layout = layout();
  const Reference ref = CleanRuns(rig_layout);
  const uint32_t seeds = 100;
  uint32_t fired = 0;
  for (uint32_t seed = 1; seed <= seeds; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 random(seed);
    auto cuts = [&] { return std::uniform_int_distribution<uint32_t>(1, 5)(random); };
    {
      Device device(rig_layout, /*permanent=*/false);
      RunWithCuts(
          device, ref.test.total(), cuts(), random,
          [&] { return StartSwap(device, SwapType::kTest); }, &fired);
      if (::testing::Test::HasFatalFailure()) return;
      ExpectSwapped(device, ref.after_test, SwapType::kTest);
      RunWithCuts(
          device, ref.revert.total(), cuts(), random,
          [&] { return StartSwap(device, SwapType::kRevert); }, &fired);
      if (::testing::Test::HasFatalFailure()) return;
      ExpectSwapped(device, ref.after_revert, SwapType::kRevert);
      ExpectStable(device);
    }
    {
      Device device(rig_layout, /*permanent=*/true);
      RunWithCuts(
          device, ref.perm.total(), cuts(), random,
          [&] { return StartSwap(device, SwapType::kPerm); }, &fired);
      if (::testing::Test::HasFatalFailure()) return;
      ExpectSwapped(device, ref.after_perm, SwapType::kPerm);
      ExpectStable(device);
    }
    if (::testing::Test::HasFailure()) return;
  }
  std::printf("[swap-move] %s random multi-cuts: seeds 1..%u, %u cuts in TEST, REVERT and PERM\n",
              rig_layout.Name().c_str(), seeds, fired);
}

// Two cuts inside the trailer hand-over at the start of a swap (REVERT
// fix-up, primary trailer init, secondary trailer erase, first move step):
// the second cut falls into the boot that restarts or repeats that set-up,
// where a restart that re-initialised the primary trailer would forget the
// swap.
TEST_P(SwapMoveCut, TwoCutsDuringSetUp) {
  const RigLayout rig_layout = layout();
  const Reference ref = CleanRuns(rig_layout);
  for (SwapType type : {SwapType::kTest, SwapType::kPerm, SwapType::kRevert}) {
    // Set-up plus the first move step (6 operations): TEST 5, PERM 6 and
    // REVERT 10 (the fix-up's 4 first), and one more.
    const uint32_t window = type == SwapType::kTest ? 12 : type == SwapType::kPerm ? 13 : 17;
    for (uint32_t k1 = 0; k1 < window; ++k1) {
      for (uint32_t k2 = 0; k2 < window; ++k2) {
        SCOPED_TRACE(std::string(Describe(type)) + " cuts at " + std::to_string(k1) + ", " +
                     std::to_string(k2));
        Device device(rig_layout, /*permanent=*/type == SwapType::kPerm);
        if (type == SwapType::kRevert) {
          ASSERT_TRUE(StartSwap(device, SwapType::kTest).ok());
        }
        auto& chip = device.chip();
        chip.CutPowerAfter(k1);
        ASSERT_FALSE(StartSwap(device, type).ok());
        chip.PowerOn();
        chip.CutPowerAfter(k2);
        if (BootOnce(device).ok()) {
          chip.CancelPowerCut();
        } else {
          chip.PowerOn();
          ASSERT_TRUE(BootOnce(device).ok());
        }
        const auto& expected = type == SwapType::kTest   ? ref.after_test
                               : type == SwapType::kPerm ? ref.after_perm
                                                         : ref.after_revert;
        ExpectSwapped(device, expected, type);
        if (::testing::Test::HasFailure()) return;
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(SwapMoveReference, SwapMoveCut, ::testing::Values(CutCase{8, 0xff}),
                         CutCaseName);
// The rest of docs/spec/power-loss-testing.md#test-matrix (W x erased value),
// and a primary without the
// spare sector (same number of sectors as the secondary, as MCUboot's sim
// allows). All of it runs in a few seconds, so it stays in the default set.
INSTANTIATE_TEST_SUITE_P(SwapMoveMatrix, SwapMoveCut,
                         ::testing::Values(CutCase{1, 0xff}, CutCase{2, 0xff}, CutCase{4, 0xff},
                                           CutCase{1, 0x00}, CutCase{2, 0x00}, CutCase{4, 0x00},
                                           CutCase{8, 0x00}, CutCase{8, 0xff, 32}),
                         CutCaseName);

}  // namespace
}  // namespace mqota::boot
