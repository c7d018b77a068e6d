#include "mqota/boot/app_api.h"

#include <gtest/gtest.h>

#include "boot_test_flash.h"

namespace mqota::boot {
namespace {

using testing::SlotFlash;

struct AppApiTest : ::testing::TestWithParam<std::tuple<uint32_t, uint8_t>> {
  SlotFlash primary_{std::get<0>(GetParam()), std::get<1>(GetParam())};
  SlotFlash secondary_{std::get<0>(GetParam()), std::get<1>(GetParam())};
  Trailer pri_ = primary_.MakeTrailer();
  Trailer sec_ = secondary_.MakeTrailer();

  SwapType NextBoot() {
    auto state = ReadSwapState(pri_, sec_);
    EXPECT_TRUE(state.ok());
    return state.ok() ? state->next_boot : SwapType::kFail;
  }
};

TEST_P(AppApiTest, SetPendingTestAndPermanentScheduleTheMatchingSwap) {
  ASSERT_TRUE(SetPending(sec_, /*permanent=*/false).ok());
  EXPECT_EQ(NextBoot(), SwapType::kTest);
  auto state = sec_.Read();
  EXPECT_EQ(state->swap_type, SwapType::kTest);
  EXPECT_EQ(secondary_.chip->counters().writes, 2u);  // magic, swap_info

  SlotFlash other(std::get<0>(GetParam()), std::get<1>(GetParam()));
  Trailer perm = other.MakeTrailer();
  ASSERT_TRUE(SetPending(perm, /*permanent=*/true).ok());
  EXPECT_EQ(DecideSwapType(*pri_.Read(), *perm.Read()), SwapType::kPerm);
  EXPECT_EQ(other.chip->counters().writes, 3u);  // magic, image_ok, swap_info
}

TEST_P(AppApiTest, SetPendingTwiceWritesNothingMore) {
  ASSERT_TRUE(SetPending(sec_, false).ok());
  const auto writes = secondary_.chip->counters().writes;
  ASSERT_TRUE(SetPending(sec_, true).ok());
  EXPECT_EQ(secondary_.chip->counters().writes, writes);
  EXPECT_EQ(secondary_.chip->counters().refused, 0u);
}

TEST_P(AppApiTest, PowerCutAtEveryWriteOfSetPendingLeavesNothingOrAValidRequest) {
  for (bool permanent : {false, true}) {
    for (uint32_t k = 0; k < 4; ++k) {
      SlotFlash slot(std::get<0>(GetParam()), std::get<1>(GetParam()));
      Trailer t = slot.MakeTrailer();
      slot.chip->CutPowerAfter(k);
      const bool completed = SetPending(t, permanent).ok();
      slot.chip->PowerOn();
      const SwapType next = DecideSwapType(*pri_.Read(), *t.Read());
      if (k == 0) {
        EXPECT_EQ(next, SwapType::kNone);
      } else if (completed) {
        EXPECT_EQ(next, permanent ? SwapType::kPerm : SwapType::kTest);
      } else {
        // After the magic: a test request at least (a safe degradation of perm).
        EXPECT_TRUE(next == SwapType::kTest || next == SwapType::kPerm) << k;
      }
      // Retrying after the reset never hits an unerased byte.
      EXPECT_TRUE(SetPending(t, permanent).ok());
      EXPECT_EQ(slot.chip->counters().refused, 0u);
    }
  }
}

TEST_P(AppApiTest, SetConfirmedWritesImageOkOnlyForAnUnconfirmedTrailer) {
  // No trailer at all: already confirmed, nothing written.
  ASSERT_TRUE(SetConfirmed(pri_).ok());
  EXPECT_EQ(primary_.chip->counters().writes, 0u);
  // The state a test swap leaves: magic, copy_done, image_ok unset.
  ASSERT_TRUE(pri_.WriteCopyDone().ok());
  ASSERT_TRUE(pri_.WriteMagic().ok());
  auto before = ReadSwapState(pri_, sec_);
  ASSERT_TRUE(before.ok());
  EXPECT_TRUE(before->running_unconfirmed);
  EXPECT_EQ(before->next_boot, SwapType::kRevert);
  ASSERT_TRUE(SetConfirmed(pri_).ok());
  auto after = ReadSwapState(pri_, sec_);
  EXPECT_FALSE(after->running_unconfirmed);
  EXPECT_EQ(after->next_boot, SwapType::kNone);
  const auto writes = primary_.chip->counters().writes;
  ASSERT_TRUE(SetConfirmed(pri_).ok());
  EXPECT_EQ(primary_.chip->counters().writes, writes);
}

TEST_P(AppApiTest, PowerCutDuringSetConfirmedRevertsOrConfirmsNeverWorse) {
  ASSERT_TRUE(pri_.WriteCopyDone().ok());
  ASSERT_TRUE(pri_.WriteMagic().ok());
  primary_.chip->CutPowerAfter(0, flash::TearMode::kRandom, 7);
  EXPECT_FALSE(SetConfirmed(pri_).ok());
  primary_.chip->PowerOn();
  const SwapType next = NextBoot();
  // A torn image_ok is BAD: not SET, so no confirmation, but not "unset" either;
  // MCUboot's table then boots as is. Either outcome keeps a bootable image.
  EXPECT_TRUE(next == SwapType::kRevert || next == SwapType::kNone);
}

TEST_P(AppApiTest, CorruptMagicIsRefused) {
  auto& ram = secondary_.chip.ram();
  const uint32_t w = std::get<0>(GetParam());
  std::vector<uint8_t> junk(w < 16 ? 16 : w, 0x5a);
  ASSERT_TRUE(ram.Write(secondary_.area.size_bytes() - junk.size(), junk).ok());
  auto result = SetPending(sec_, false);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, BootErrc::kBadMagic);
  auto& pram = primary_.chip.ram();
  ASSERT_TRUE(pram.Write(primary_.area.size_bytes() - junk.size(), junk).ok());
  auto confirm = SetConfirmed(pri_);
  ASSERT_FALSE(confirm.ok());
  EXPECT_EQ(confirm.error().code, BootErrc::kBadMagic);
}

INSTANTIATE_TEST_SUITE_P(Geometries, AppApiTest,
                         ::testing::Combine(::testing::Values(1u, 2u, 4u, 8u),
                                            ::testing::Values(uint8_t{0xff}, uint8_t{0x00})));

}  // namespace
}  // namespace mqota::boot
