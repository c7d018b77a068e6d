// Anti-rollback (docs/spec/mcuboot-trailer.md#downgrade-and-rollback-protection):
// a hardware security counter raised only once an image is confirmed
// (docs/spec/mcuboot-trailer.md#rule-5-raise-the-security-counter-only-when-confirmed),
// and downgrade prevention by version or by security counter, through the
// bootloader with swap-scratch.
#include <gtest/gtest.h>

#include "boot_rig.h"
#include "mqota/boot/app_api.h"
#include "mqota/boot/swap_scratch.h"

namespace mqota::boot {
namespace {

using testing::BootRig;
using testing::RigLayout;

// A monotonic counter in RAM, standing in for OTP fuses.
class FakeCounterStore final : public SecurityCounterStore {
 public:
  BootResult<uint32_t> Read() override { return value; }
  BootStatus Raise(uint32_t to) override {
    if (to < value) return BootError{BootErrc::kRollback, {}, {}};
    value = to;
    ++raises;
    return {};
  }
  uint32_t value = 0;
  int raises = 0;
};

class RollbackBoot : public ::testing::Test {
 protected:
  RollbackBoot() : rig_(RigLayout{}, &scratch_) { rig_.counter_store = &store_; }

  void Stage(const std::vector<uint8_t>& image, bool permanent = false) {
    rig_.rig().Place(rig_.rig().secondary(), image);
    ASSERT_TRUE(SetPending(rig_.rig().secondary_trailer(), permanent).ok());
  }
  BootOutcome BootOk() {
    auto outcome = rig_.Boot();
    EXPECT_TRUE(outcome.ok()) << Describe(outcome.error().code);
    return outcome.ok() ? *outcome : BootOutcome{};
  }

  SwapScratch scratch_;
  FakeCounterStore store_;
  BootRig rig_;
};

TEST_F(RollbackBoot, CounterRisesOnlyOnceTheImageIsConfirmed) {
  rig_.rig().Place(rig_.rig().primary(), rig_.MakeImage({1, 0, 0, 0}, 40000, 1, nullptr, 10));
  EXPECT_EQ(BootOk().layout.header.version.major, 1);
  EXPECT_EQ(store_.value, 10u);  // no trailer: confirmed, counter raised

  Stage(rig_.MakeImage({2, 0, 0, 0}, 40000, 2, nullptr, 20));
  const BootOutcome trial = BootOk();
  EXPECT_EQ(trial.swap, SwapType::kTest);
  EXPECT_FALSE(trial.confirmed);
  EXPECT_EQ(store_.value, 10u);  // on trial: raising now would forbid the revert

  const BootOutcome reverted = BootOk();  // never confirmed
  EXPECT_EQ(reverted.swap, SwapType::kRevert);
  EXPECT_EQ(reverted.layout.header.version.major, 1);
  EXPECT_EQ(store_.value, 10u);

  // Staged again (the secondary still holds it after the revert), confirmed this time.
  ASSERT_TRUE(SetPending(rig_.rig().secondary_trailer(), false).ok());
  EXPECT_FALSE(BootOk().confirmed);
  ASSERT_TRUE(SetConfirmed(rig_.rig().primary_trailer()).ok());
  EXPECT_TRUE(BootOk().confirmed);
  EXPECT_EQ(store_.value, 20u);
}

TEST_F(RollbackBoot, ImagesBelowTheStoredCounterAreRejected) {
  rig_.downgrade = DowngradePolicy::kAllow;  // only the hardware counter decides here
  store_.value = 15;
  rig_.rig().Place(rig_.rig().primary(), rig_.MakeImage({2, 0, 0, 0}, 40000, 1, nullptr, 20));
  Stage(rig_.MakeImage({3, 0, 0, 0}, 40000, 2, nullptr, 14));
  const BootOutcome outcome = BootOk();
  EXPECT_EQ(outcome.rejected, RejectReason::kRollback);
  EXPECT_EQ(outcome.rejected_version.major, 3);
  EXPECT_EQ(outcome.layout.header.version.major, 2);
  EXPECT_EQ(rig_.rig().secondary_trailer().Read()->magic, MagicState::kUnset);
}

TEST_F(RollbackBoot, ImageWithoutSecurityCounterIsRejectedWhenTheDeviceHasOne) {
  rig_.rig().Place(rig_.rig().primary(), rig_.MakeImage({1, 0, 0, 0}, 40000, 1, nullptr, 1));
  host::SignOptions o;
  o.header_size = 0x400;
  o.pad_header = true;
  o.version = {2, 0, 0, 0};
  o.align = 8;
  o.slot_size = rig_.rig().secondary().size_bytes();
  const auto key = host::Key::Load(mqota::testing::VectorPath("ecdsa-p256-test-key.pem").string());
  Stage(host::BuildSignedImage(testing::SwapRig::Image(40000, 2), o, &key));
  EXPECT_EQ(BootOk().rejected, RejectReason::kRollback);
}

TEST_F(RollbackBoot, PrimaryBelowTheStoredCounterDoesNotBoot) {
  store_.value = 50;
  rig_.rig().Place(rig_.rig().primary(), rig_.MakeImage({1, 0, 0, 0}, 40000, 1, nullptr, 49));
  auto outcome = rig_.Boot();
  ASSERT_FALSE(outcome.ok());
  EXPECT_EQ(outcome.error().code, BootErrc::kRollback);
}

TEST_F(RollbackBoot, DowngradeBySecurityCounterIgnoresVersionNumbers) {
  rig_.counter_store = nullptr;
  rig_.downgrade = DowngradePolicy::kBySecurityCounter;
  rig_.rig().Place(rig_.rig().primary(), rig_.MakeImage({2, 0, 0, 0}, 40000, 1, nullptr, 5));
  Stage(rig_.MakeImage({3, 0, 0, 0}, 40000, 2, nullptr, 4));
  EXPECT_EQ(BootOk().rejected, RejectReason::kDowngrade);
  Stage(rig_.MakeImage({1, 0, 0, 0}, 40000, 3, nullptr, 6), /*permanent=*/true);
  const BootOutcome outcome = BootOk();
  EXPECT_EQ(outcome.rejected, RejectReason::kNone);
  EXPECT_EQ(outcome.layout.header.version.major, 1);
}

TEST_F(RollbackBoot, EqualVersionsAreNotDowngrades) {
  rig_.counter_store = nullptr;
  rig_.rig().Place(rig_.rig().primary(), rig_.MakeImage({2, 0, 0, 0}, 40000, 1));
  Stage(rig_.MakeImage({2, 0, 0, 9}, 40000, 2), /*permanent=*/true);
  const BootOutcome outcome = BootOk();
  EXPECT_EQ(outcome.swap, SwapType::kPerm);
  EXPECT_EQ(outcome.layout.header.version.build, 9u);
}

}  // namespace
}  // namespace mqota::boot
