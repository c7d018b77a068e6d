#include "mqota/image/validate.h"

#include <gtest/gtest.h>

#include "mqota/ports/mbedtls/mbedtls_crypto.h"
#include "test_image.h"

namespace mqota::image {
namespace {

using testing::RawTlv;
using testing::TestImage;

class ValidateImageTest : public ::testing::Test {
 protected:
  ImageResult<ValidatedImage> Validate(const std::vector<uint8_t>& bytes,
                                       ValidationOptions options) {
    MemoryImageSource source(bytes);
    return ValidateImage(source, crypto_, options);
  }
  ImageErrc ErrorOf(const std::vector<uint8_t>& bytes, ValidationOptions options) {
    auto result = Validate(bytes, options);
    EXPECT_FALSE(result.ok());
    return result.ok() ? ImageErrc::kReadFailed : result.error().code;
  }
  static ValidationOptions HashOnly() {
    ValidationOptions o;
    o.require_signature = false;
    return o;
  }
  ports::MbedtlsCrypto crypto_;
};

TEST_F(ValidateImageTest, HashOnlyImageValidatesAndReportsItsDigest) {
  TestImage t;
  const auto bytes = t.Build(crypto_);
  auto result = Validate(bytes, HashOnly());
  ASSERT_TRUE(result.ok()) << Describe(result.error().code);
  std::array<uint8_t, 32> expected{};
  crypto_.Sha256(std::span(bytes).first(result->layout.hashed_size), expected);
  EXPECT_EQ(result->digest, expected);
  EXPECT_FALSE(result->signing_key_index.has_value());
  EXPECT_FALSE(result->security_counter.has_value());
}

TEST_F(ValidateImageTest, UnsignedImageIsRefusedWhenSignaturesAreRequired) {
  EXPECT_EQ(ErrorOf(TestImage{}.Build(crypto_), {}), ImageErrc::kNoSignature);
}

TEST_F(ValidateImageTest, EveryPayloadByteIsCoveredByTheHash) {
  const auto good = TestImage{}.Build(crypto_);
  for (size_t i : {size_t{32}, size_t{0x1ff}, size_t{0x200}, size_t{0x200 + 999}}) {
    auto bad = good;
    bad[i] ^= 0x80;
    EXPECT_EQ(ErrorOf(bad, HashOnly()), ImageErrc::kHashMismatch) << i;
  }
}

TEST_F(ValidateImageTest, ReadsSecurityCounterFromTheProtectedBlock) {
  TestImage t;
  t.protected_tlvs = {{tlv::kSecCnt, {0x03, 0x00, 0x02, 0x01}}};
  auto result = Validate(t.Build(crypto_), HashOnly());
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->security_counter, 0x01020003u);
}

TEST_F(ValidateImageTest, ProtectedTlvIsCoveredByTheHash) {
  TestImage t;
  t.protected_tlvs = {{tlv::kSecCnt, {1, 0, 0, 0}}};
  auto bytes = t.Build(crypto_);
  bytes[0x200 + 1000 + 8] = 9;  // the counter's first byte
  EXPECT_EQ(ErrorOf(bytes, HashOnly()), ImageErrc::kHashMismatch);
}

TEST_F(ValidateImageTest, RejectsSecurityCounterOutsideTheProtectedBlock) {
  TestImage t;
  t.tlvs = {{tlv::kSecCnt, {9, 9, 9, 9}}};
  EXPECT_EQ(ErrorOf(t.Build(crypto_), HashOnly()), ImageErrc::kMisplacedTlv);
}

TEST_F(ValidateImageTest, RejectsMalformedSecurityCounters) {
  TestImage t;
  t.protected_tlvs = {{tlv::kSecCnt, {1, 0, 0}}};
  EXPECT_EQ(ErrorOf(t.Build(crypto_), HashOnly()), ImageErrc::kBadTlvLength);
  t.protected_tlvs = {{tlv::kSecCnt, {1, 0, 0, 0}}, {tlv::kSecCnt, {2, 0, 0, 0}}};
  EXPECT_EQ(ErrorOf(t.Build(crypto_), HashOnly()), ImageErrc::kDuplicateTlv);
}

TEST_F(ValidateImageTest, RequiresExactlyOneWellFormedHashTlv) {
  TestImage t;
  t.add_hash = false;
  EXPECT_EQ(ErrorOf(t.Build(crypto_), HashOnly()), ImageErrc::kNoHash);
  t.tlvs = {{tlv::kSha256, std::vector<uint8_t>(31, 0)}};
  EXPECT_EQ(ErrorOf(t.Build(crypto_), HashOnly()), ImageErrc::kBadTlvLength);
  t.add_hash = true;
  auto good = TestImage{}.Build(crypto_);
  t.tlvs = {{tlv::kSha256, std::vector<uint8_t>(good.end() - 32, good.end())}};
  EXPECT_EQ(ErrorOf(t.Build(crypto_), HashOnly()), ImageErrc::kDuplicateTlv);
}

TEST_F(ValidateImageTest, RefusesEncryptedCompressedAndNonBootableImages) {
  for (uint32_t f :
       {flags::kEncryptedAes128, flags::kEncryptedAes256, flags::kCompressedLzma2, flags::kPic}) {
    TestImage t;
    t.header.flags = f;
    EXPECT_EQ(ErrorOf(t.Build(crypto_), HashOnly()), ImageErrc::kUnsupportedFlags) << f;
  }
  TestImage t;
  t.header.flags = flags::kNonBootable;
  EXPECT_EQ(ErrorOf(t.Build(crypto_), HashOnly()), ImageErrc::kNotBootable);
  auto options = HashOnly();
  options.require_bootable = false;
  EXPECT_TRUE(Validate(t.Build(crypto_), options).ok());
}

TEST_F(ValidateImageTest, AcceptsRamLoadImagesAsSignedByTheReferenceBuild) {
  TestImage t;
  t.header.flags = flags::kRamLoad;
  t.header.load_addr = 0x10018000;
  EXPECT_TRUE(Validate(t.Build(crypto_), HashOnly()).ok());
}

TEST_F(ValidateImageTest, SignatureWithoutAKeyHashNamesNoKey) {
  const std::vector<uint8_t> key(91, 0x30);
  const TrustedKey trusted[] = {{SignatureType::kEcdsaP256, key}};
  TestImage t;
  t.tlvs = {{tlv::kEcdsaSig, std::vector<uint8_t>(70, 0x30)}};
  ValidationOptions options;
  options.trusted_keys = trusted;
  EXPECT_EQ(ErrorOf(t.Build(crypto_), options), ImageErrc::kUnknownKey);
}

}  // namespace
}  // namespace mqota::image
