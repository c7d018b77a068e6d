// The bootloader with overwrite-only upgrades: decisions, validation, and a
// power cut at every flash operation of an upgrade, between operations and
// inside them (torn, with random bytes).
#include <gtest/gtest.h>

#include "boot_rig.h"
#include "mqota/boot/app_api.h"
#include "mqota/boot/overwrite_only.h"

namespace mqota::boot {
namespace {

using testing::BootRig;
using testing::RigLayout;

class OverwriteBoot : public ::testing::TestWithParam<bool> {
 protected:
  OverwriteBoot() : algorithm_(GetParam()), boot_(RigLayout{}, &algorithm_) {}

  void Install(const std::vector<uint8_t>& primary, const std::vector<uint8_t>& secondary,
               bool pending = true) {
    boot_.rig().Place(boot_.rig().primary(), primary);
    if (!secondary.empty()) {
      boot_.rig().Place(boot_.rig().secondary(), secondary);
      if (pending) {
        ASSERT_TRUE(SetPending(boot_.rig().secondary_trailer(), false).ok());
      }
    }
    boot_.rig().chip().ResetCounters();
  }
  std::vector<uint8_t> Primary(size_t n) { return boot_.rig().Read(boot_.rig().primary(), n); }
  bool SecondaryErasedHeader() {
    auto header = boot_.rig().Read(boot_.rig().secondary(), 32);
    return std::all_of(header.begin(), header.end(), [](uint8_t b) { return b == 0xff; });
  }

  // An upgrade from v1 to v2 cut after each of its operations in turn (the
  // cut one torn as `tear` says, with a fixed seed per cut point), then booted
  // again: v2 must be in place, no write may have hit an unerased byte, and a
  // further boot must change nothing.
  void InstallsAfterACutAtEveryOperation(flash::TearMode tear) {
    const auto v1 = boot_.MakeImage({1, 0, 0, 0}, 50000, 1);
    const auto v2 = boot_.MakeImage({1, 1, 0, 0}, 100000, 2);
    Install(v1, v2);
    ASSERT_TRUE(boot_.Boot().ok());
    const uint32_t total = boot_.rig().chip().operations();
    std::printf("%s: %u operations (%u erases, %u writes)\n", algorithm_.name(), total,
                boot_.rig().chip().counters().erases, boot_.rig().chip().counters().writes);
    for (uint32_t k = 0; k < total; ++k) {
      const uint64_t seed = kTornSeed + k;
      SCOPED_TRACE("cut after " + std::to_string(k) + " operations, seed " + std::to_string(seed));
      BootRig rig(RigLayout{}, &algorithm_);
      rig.rig().Place(rig.rig().primary(), v1);
      rig.rig().Place(rig.rig().secondary(), v2);
      ASSERT_TRUE(SetPending(rig.rig().secondary_trailer(), false).ok());
      rig.rig().chip().ResetCounters();
      rig.rig().chip().CutPowerAfter(k, tear, seed);
      EXPECT_FALSE(rig.Boot().ok());
      rig.rig().chip().PowerOn();
      auto outcome = rig.Boot();
      ASSERT_TRUE(outcome.ok()) << Describe(outcome.error().code);
      EXPECT_EQ(outcome->layout.header.version, (image::ImageVersion{1, 1, 0, 0}));
      EXPECT_EQ(rig.rig().Read(rig.rig().primary(), v2.size()), v2);
      EXPECT_EQ(rig.rig().chip().counters().refused, 0u);
      // And it stays so.
      rig.rig().chip().ResetCounters();
      auto again = rig.Boot();
      ASSERT_TRUE(again.ok());
      EXPECT_EQ(again->swap, SwapType::kNone);
      EXPECT_EQ(rig.rig().chip().operations(), 0u);
    }
  }

  // Seeds of the torn cuts: kTornSeed + the cut point, so a failure re-runs.
  static constexpr uint64_t kTornSeed = 0x0ae70000;

  OverwriteOnly algorithm_;
  BootRig boot_;
};

TEST_P(OverwriteBoot, NoRequestBootsThePrimaryAndWritesNothing) {
  const auto v1 = boot_.MakeImage({1, 0, 0, 0}, 50000, 1);
  Install(v1, {});
  auto outcome = boot_.Boot();
  ASSERT_TRUE(outcome.ok()) << Describe(outcome.error().code);
  EXPECT_EQ(outcome->swap, SwapType::kNone);
  EXPECT_EQ(outcome->layout.header.version, (image::ImageVersion{1, 0, 0, 0}));
  EXPECT_TRUE(outcome->confirmed);
  EXPECT_EQ(boot_.rig().chip().operations(), 0u);
}

TEST_P(OverwriteBoot, PendingImageReplacesThePrimaryAndTheRequestIsWithdrawn) {
  const auto v1 = boot_.MakeImage({1, 0, 0, 0}, 50000, 1);
  const auto v2 = boot_.MakeImage({1, 1, 0, 0}, 100000, 2);
  Install(v1, v2);
  auto outcome = boot_.Boot();
  ASSERT_TRUE(outcome.ok()) << Describe(outcome.error().code);
  EXPECT_EQ(outcome->swap, SwapType::kTest);
  EXPECT_EQ(outcome->layout.header.version, (image::ImageVersion{1, 1, 0, 0}));
  EXPECT_EQ(Primary(v2.size()), v2);
  EXPECT_TRUE(SecondaryErasedHeader());
  auto secondary = boot_.rig().secondary_trailer().Read();
  EXPECT_EQ(secondary->magic, MagicState::kUnset);
  // The next boot has nothing to do.
  boot_.rig().chip().ResetCounters();
  auto again = boot_.Boot();
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->swap, SwapType::kNone);
  EXPECT_EQ(boot_.rig().chip().operations(), 0u);
}

TEST_P(OverwriteBoot, PowerCutAtEveryOperationStillInstallsTheImage) {
  InstallsAfterACutAtEveryOperation(flash::TearMode::kNone);
}

// The same with the cut operation torn: a write leaves random bytes, an erase
// a random mix of erased and old bytes. Overwrite-only reads no log, so this
// checks that whatever a torn copy, magic write or request erase leaves, the
// next boot redoes the copy or scrubs the request, never writing unerased bytes.
TEST_P(OverwriteBoot, TornPowerCutAtEveryOperationStillInstallsTheImage) {
  InstallsAfterACutAtEveryOperation(flash::TearMode::kRandom);
}

TEST_P(OverwriteBoot, BadSignatureIsErasedAndThePrimaryUntouched) {
  const auto v1 = boot_.MakeImage({1, 0, 0, 0}, 50000, 1);
  auto forged = boot_.MakeImage({2, 0, 0, 0}, 50000, 3);
  forged[forged.size() - 5] ^= 0x10;  // inside the ECDSA signature
  Install(v1, forged);
  const auto before = Primary(boot_.rig().primary().size_bytes());
  auto outcome = boot_.Boot();
  ASSERT_TRUE(outcome.ok());
  EXPECT_EQ(outcome->rejected, RejectReason::kInvalid);
  EXPECT_EQ(outcome->image_error.code, image::ImageErrc::kBadSignature);
  EXPECT_EQ(outcome->layout.header.version, (image::ImageVersion{1, 0, 0, 0}));
  EXPECT_EQ(Primary(before.size()), before);
  auto whole = boot_.rig().Read(boot_.rig().secondary(), boot_.rig().secondary().size_bytes());
  EXPECT_TRUE(std::all_of(whole.begin(), whole.end(), [](uint8_t b) { return b == 0xff; }));
}

TEST_P(OverwriteBoot, UnknownKeyAndBadHashAreRejectedToo) {
  const auto v1 = boot_.MakeImage({1, 0, 0, 0}, 50000, 1);
  auto bad_hash = boot_.MakeImage({2, 0, 0, 0}, 50000, 3);
  bad_hash[0x400 + 100] ^= 1;
  Install(v1, bad_hash);
  auto outcome = boot_.Boot();
  ASSERT_TRUE(outcome.ok());
  EXPECT_EQ(outcome->image_error.code, image::ImageErrc::kHashMismatch);

  const auto other = host::Key::Generate(host::KeyType::kEcdsaP256);
  Install(v1, boot_.MakeImage({2, 0, 0, 0}, 50000, 4, &other));
  outcome = boot_.Boot();
  ASSERT_TRUE(outcome.ok());
  EXPECT_EQ(outcome->image_error.code, image::ImageErrc::kUnknownKey);
  EXPECT_EQ(outcome->layout.header.version, (image::ImageVersion{1, 0, 0, 0}));
}

TEST_P(OverwriteBoot, UnsignedImagesNeedTheDevelopmentSwitch) {
  const auto v1 = boot_.MakeImage({1, 0, 0, 0}, 50000, 1);
  host::SignOptions o;
  o.header_size = 0x400;
  o.pad_header = true;
  o.version = {2, 0, 0, 0};
  o.align = 8;
  o.slot_size = boot_.rig().secondary().size_bytes();
  const auto unsigned_image = host::BuildSignedImage(testing::SwapRig::Image(50000, 7), o, nullptr);
  Install(v1, unsigned_image);
  auto refused = boot_.Boot();
  ASSERT_TRUE(refused.ok());
  EXPECT_EQ(refused->image_error.code, image::ImageErrc::kNoSignature);
  EXPECT_EQ(refused->layout.header.version.major, 1);

  boot_.require_signature = false;
  Install(v1, unsigned_image);
  auto accepted = boot_.Boot();
  ASSERT_TRUE(accepted.ok());
  EXPECT_EQ(accepted->layout.header.version.major, 2);
}

TEST_P(OverwriteBoot, DowngradesAreRefusedUnlessAllowed) {
  const auto v2 = boot_.MakeImage({2, 0, 0, 0}, 50000, 1);
  const auto v1 = boot_.MakeImage({1, 9, 0, 0}, 50000, 2);
  Install(v2, v1);
  auto outcome = boot_.Boot();
  ASSERT_TRUE(outcome.ok());
  EXPECT_EQ(outcome->rejected, RejectReason::kDowngrade);
  EXPECT_EQ(outcome->rejected_version, (image::ImageVersion{1, 9, 0, 0}));
  EXPECT_EQ(outcome->layout.header.version, (image::ImageVersion{2, 0, 0, 0}));

  boot_.downgrade = DowngradePolicy::kAllow;
  Install(v2, v1);
  outcome = boot_.Boot();
  ASSERT_TRUE(outcome.ok());
  EXPECT_EQ(outcome->layout.header.version, (image::ImageVersion{1, 9, 0, 0}));
}

TEST_P(OverwriteBoot, LeftoverTrailerWithoutImageIsScrubbed) {
  const auto v1 = boot_.MakeImage({1, 0, 0, 0}, 50000, 1);
  Install(v1, {});
  ASSERT_TRUE(boot_.rig().secondary_trailer().WriteMagic().ok());
  ASSERT_TRUE(boot_.rig().secondary_trailer().WriteImageOk().ok());
  const auto before = Primary(boot_.rig().primary().size_bytes());
  auto outcome = boot_.Boot();
  ASSERT_TRUE(outcome.ok());
  EXPECT_EQ(outcome->rejected, RejectReason::kNoImage);
  EXPECT_EQ(boot_.rig().secondary_trailer().Read()->magic, MagicState::kUnset);
  EXPECT_EQ(Primary(before.size()), before);
}

TEST_P(OverwriteBoot, OversizedImageIsRejected) {
  const auto v1 = boot_.MakeImage({1, 0, 0, 0}, 50000, 1);
  // One write unit more than the algorithm can take (slot - 40 for M = 8).
  const uint32_t max = algorithm_.MaxImageSize(boot_.rig().context());
  std::vector<uint8_t> big = boot_.MakeImage({2, 0, 0, 0}, 1000, 5);
  const uint32_t payload = max - static_cast<uint32_t>(big.size()) + 1000 + 100;
  host::SignOptions o;
  o.header_size = 0x400;
  o.pad_header = true;
  o.version = {2, 0, 0, 0};
  o.slot_size = 0x100000;  // the signer's own slot check is not under test
  const auto key = host::Key::Load(mqota::testing::VectorPath("ecdsa-p256-test-key.pem").string());
  big = host::BuildSignedImage(testing::SwapRig::Image(payload, 5), o, &key);
  ASSERT_GT(big.size(), max);
  big.resize(std::min<size_t>(big.size(), boot_.rig().secondary().size_bytes() - 64));
  Install(v1, big);
  auto outcome = boot_.Boot();
  ASSERT_TRUE(outcome.ok());
  EXPECT_EQ(outcome->rejected, RejectReason::kInvalid);
  EXPECT_EQ(outcome->image_error.code, image::ImageErrc::kTooLarge);
}

TEST_P(OverwriteBoot, InvalidPrimaryWithNothingToInstallIsNotBootable) {
  auto v1 = boot_.MakeImage({1, 0, 0, 0}, 50000, 1);
  v1[0x400 + 7] ^= 1;
  Install(v1, {});
  auto outcome = boot_.Boot();
  ASSERT_FALSE(outcome.ok());
  EXPECT_EQ(outcome.error().code, BootErrc::kNoBootableImage);
  EXPECT_EQ(outcome.error().image.code, image::ImageErrc::kHashMismatch);
}

INSTANTIATE_TEST_SUITE_P(Variants, OverwriteBoot, ::testing::Values(false, true),
                         [](const auto& param_info) { return param_info.param ? "Fast" : "Full"; });

}  // namespace
}  // namespace mqota::boot
