// The images MCUboot's imgtool made (tests/vectors/imgtool): parsed and
// validated exactly as expected.json records them, and every corruption caught.
#include <gtest/gtest.h>

#include "mqota/image/digest.h"
#include "mqota/image/layout.h"
#include "mqota/image/tlv.h"
#include "mqota/image/validate.h"
#include "mqota/image/version.h"
#include "mqota/ports/mbedtls/mbedtls_crypto.h"
#include "mqota/ports/openssl/openssl_crypto.h"
#include "mqota/testing/files.h"

namespace mqota::image {
namespace {

using mqota::testing::ExpectedVectors;
using mqota::testing::FromHex;
using mqota::testing::ReadFileBytes;
using mqota::testing::ToHex;
using mqota::testing::VectorPath;

const char* const kImages[] = {"ecdsa-v1.2.3+4.bin", "ecdsa-v1.2.3+4-pad-slot64k.bin",
                               "unsigned-hashonly-v1.2.3+4.bin"};

std::vector<uint8_t> KeyDer(const std::string& name) {
  return FromHex(ExpectedVectors()["keys"][name]["spki_der_hex"].get<std::string>());
}

class ImgtoolVectors : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override {
    bytes_ = ReadFileBytes(VectorPath(GetParam()));
    expected_ = ExpectedVectors()["images"][GetParam()];
    ecdsa_key_ = KeyDer("ecdsa-p256");
    ed25519_key_ = KeyDer("ed25519");
  }
  bool signed_image() const { return expected_.contains("signed_with"); }
  ValidationOptions Options() {
    keys_[0] = {SignatureType::kEd25519, ed25519_key_};
    keys_[1] = {SignatureType::kEcdsaP256, ecdsa_key_};
    ValidationOptions o;
    o.trusted_keys = keys_;
    o.require_signature = signed_image();
    return o;
  }
  std::vector<uint8_t> bytes_;
  nlohmann::json expected_;
  std::vector<uint8_t> ecdsa_key_, ed25519_key_;
  TrustedKey keys_[2];
};

TEST_P(ImgtoolVectors, LayoutMatchesTheRecordedHeaderAndTlvs) {
  MemoryImageSource source(bytes_);
  auto layout = ParseLayout(source);
  ASSERT_TRUE(layout.ok()) << Describe(layout.error().code);
  const auto& h = expected_["header"];
  EXPECT_EQ(layout->header.magic, std::stoul(h["magic"].get<std::string>(), nullptr, 16));
  EXPECT_EQ(layout->header.load_addr, h["load_addr"].get<uint32_t>());
  EXPECT_EQ(layout->header.hdr_size, h["hdr_size"].get<uint32_t>());
  EXPECT_EQ(layout->header.protect_tlv_size, h["protect_tlv_size"].get<uint32_t>());
  EXPECT_EQ(layout->header.img_size, h["img_size"].get<uint32_t>());
  EXPECT_EQ(layout->header.flags, h["flags"].get<uint32_t>());
  std::array<char, kVersionTextBytes> version{};
  FormatVersion(layout->header.version, version);
  EXPECT_EQ(std::string(version.data()), h["version"].get<std::string>());
  EXPECT_EQ(layout->hashed_size, expected_["hashed_region"]["length"].get<uint32_t>());
  EXPECT_EQ(layout->tlv_offset, expected_["unprotected_tlv_info"]["offset"].get<uint32_t>());
  EXPECT_EQ(layout->tlv_size, expected_["unprotected_tlv_info"]["tlv_tot"].get<uint32_t>());
  EXPECT_EQ(layout->total_size, expected_["image_end"].get<uint32_t>());

  TlvIterator it(source, *layout, TlvIterator::Block::kUnprotected);
  for (const auto& want : expected_["tlvs"]) {
    auto entry = it.Next();
    ASSERT_TRUE(entry.ok());
    ASSERT_TRUE(entry->has_value());
    EXPECT_EQ((*entry)->type, want["type"].get<uint16_t>());
    EXPECT_EQ((*entry)->length, want["len"].get<uint16_t>());
    EXPECT_EQ(ToHex(std::span(bytes_).subspan((*entry)->value_offset, (*entry)->length)),
              want["value_hex"].get<std::string>());
  }
  auto end = it.Next();
  ASSERT_TRUE(end.ok());
  EXPECT_FALSE(end->has_value());
}

TEST_P(ImgtoolVectors, ValidatesWithBothBackendsAndTheRecordedDigest) {
  ports::MbedtlsCrypto mbedtls;
  ports::OpensslCrypto openssl;
  for (CryptoBackend* crypto :
       {static_cast<CryptoBackend*>(&mbedtls), static_cast<CryptoBackend*>(&openssl)}) {
    MemoryImageSource source(bytes_);
    auto result = ValidateImage(source, *crypto, Options());
    ASSERT_TRUE(result.ok()) << Describe(result.error().code);
    EXPECT_EQ(ToHex(result->digest), expected_["sha256_digest"].get<std::string>());
    if (signed_image()) {
      EXPECT_EQ(result->signing_key_index, 1u);  // rotation: the second trusted key
    }
  }
}

// What a device reports as its running image: the digest imgtool wrote,
// read without hashing.
TEST_P(ImgtoolVectors, TheStatedDigestIsImgtoolsWithoutHashing) {
  MemoryImageSource source(bytes_);
  auto digest = ReadStatedDigest(source);
  ASSERT_TRUE(digest.ok()) << Describe(digest.error().code);
  EXPECT_EQ(ToHex(*digest), expected_["sha256_digest"].get<std::string>());
  // An image without its hash TLV states none.
  auto layout = ParseLayout(source);
  ASSERT_TRUE(layout.ok());
  auto no_hash = std::vector<uint8_t>(bytes_.begin(), bytes_.begin() + layout->tlv_offset);
  const uint8_t empty_info[] = {0x07, 0x69, 0x04, 0x00};  // IMAGE_TLV_INFO_MAGIC, 4 bytes
  no_hash.insert(no_hash.end(), std::begin(empty_info), std::end(empty_info));
  MemoryImageSource without(no_hash);
  auto none = ReadStatedDigest(without);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code, ImageErrc::kNoHash);
}

TEST_P(ImgtoolVectors, FlippingAnyHashedByteIsCaught) {
  ports::OpensslCrypto crypto;
  const uint32_t hashed = expected_["hashed_region"]["length"].get<uint32_t>();
  auto options = Options();
  for (uint32_t i = 0; i < hashed; ++i) {
    auto bad = bytes_;
    bad[i] ^= 0x01;
    MemoryImageSource source(bad);
    auto result = ValidateImage(source, crypto, options);
    ASSERT_FALSE(result.ok()) << "flipped byte " << i;
    // Header bytes may break the layout first; beyond it only the hash can tell.
    if (i >= kHeaderSizeBytes) {
      ASSERT_EQ(result.error().code, ImageErrc::kHashMismatch) << "flipped byte " << i;
    }
  }
}

TEST_P(ImgtoolVectors, FlippingTheSignatureOrKeyHashIsCaught) {
  if (!signed_image()) GTEST_SKIP() << "no signature";
  ports::MbedtlsCrypto crypto;
  MemoryImageSource source(bytes_);
  auto layout = ParseLayout(source);
  ASSERT_TRUE(layout.ok());
  TlvIterator it(source, *layout, TlvIterator::Block::kUnprotected);
  int checked = 0;
  for (auto entry = it.Next(); entry.ok() && entry->has_value(); entry = it.Next()) {
    const TlvEntry tlv = **entry;
    ImageErrc want;
    if (tlv.type == tlv::kEcdsaSig) {
      want = ImageErrc::kBadSignature;
    } else if (tlv.type == tlv::kKeyHash) {
      want = ImageErrc::kUnknownKey;
    } else {
      continue;
    }
    for (uint32_t i = 0; i < tlv.length; ++i) {
      auto bad = bytes_;
      bad[tlv.value_offset + i] ^= 0x01;
      MemoryImageSource bad_source(bad);
      auto result = ValidateImage(bad_source, crypto, Options());
      ASSERT_FALSE(result.ok()) << TlvTypeName(tlv.type) << " byte " << i;
      EXPECT_EQ(result.error().code, want) << TlvTypeName(tlv.type) << " byte " << i;
      ++checked;
    }
  }
  EXPECT_GT(checked, 32 + 60);
}

TEST_P(ImgtoolVectors, UnknownKeyIsRefused) {
  if (!signed_image()) GTEST_SKIP() << "no signature";
  ports::MbedtlsCrypto crypto;
  MemoryImageSource source(bytes_);
  const TrustedKey only_ed25519[] = {{SignatureType::kEd25519, ed25519_key_}};
  ValidationOptions options;
  options.trusted_keys = only_ed25519;
  auto result = ValidateImage(source, crypto, options);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, ImageErrc::kUnknownKey);
}

TEST_P(ImgtoolVectors, ImageLargerThanTheSlotAllowsIsTooLarge) {
  ports::MbedtlsCrypto crypto;
  MemoryImageSource source(bytes_);
  auto options = Options();
  options.limits.max_image_size_bytes = expected_["image_end"].get<uint32_t>() - 1;
  auto result = ValidateImage(source, crypto, options);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, ImageErrc::kTooLarge);
}

INSTANTIATE_TEST_SUITE_P(All, ImgtoolVectors, ::testing::ValuesIn(kImages),
                         [](const auto& param_info) {
                           std::string name = param_info.param;
                           for (char& c : name) {
                             if (!isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return name;
                         });

}  // namespace
}  // namespace mqota::image
