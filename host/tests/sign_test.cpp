// The signer against imgtool's own output (tests/vectors/imgtool).
#include <gtest/gtest.h>

#include "mqota/boot/trailer_format.h"
#include "mqota/host/command_error.h"
#include "mqota/host/signer.h"
#include "mqota/image/layout.h"
#include "mqota/image/tlv.h"
#include "mqota/image/validate.h"
#include "mqota/ports/mbedtls/mbedtls_crypto.h"
#include "mqota/ports/openssl/openssl_crypto.h"
#include "mqota/testing/files.h"
#include "mqota/testing/process.h"

namespace mqota::host {
namespace {

using mqota::testing::ExpectedVectors;
using mqota::testing::FromHex;
using mqota::testing::ReadFileBytes;
using mqota::testing::TempDir;
using mqota::testing::ToHex;
using mqota::testing::VectorPath;

// The flags the vectors were made with: -H 0x400 --pad-header --align 8
// -v 1.2.3+4 -S 0x10000.
SignOptions RecordedOptions() {
  SignOptions o;
  o.header_size = 0x400;
  o.pad_header = true;
  o.align = 8;
  o.version = {1, 2, 3, 4};
  o.slot_size = 0x10000;
  return o;
}

std::vector<uint8_t> Payload() { return ReadFileBytes(VectorPath("payload-20000.bin")); }

struct Tlv {
  uint16_t type;
  std::vector<uint8_t> value;
};

std::vector<Tlv> UnprotectedTlvs(const std::vector<uint8_t>& bytes) {
  image::MemoryImageSource source(bytes);
  auto layout = image::ParseLayout(source);
  EXPECT_TRUE(layout.ok());
  std::vector<Tlv> out;
  if (!layout.ok()) return out;
  image::TlvIterator it(source, *layout, image::TlvIterator::Block::kUnprotected);
  for (auto e = it.Next(); e.ok() && e->has_value(); e = it.Next()) {
    const auto& entry = **e;
    out.push_back(
        {entry.type, std::vector<uint8_t>(bytes.begin() + entry.value_offset,
                                          bytes.begin() + entry.value_offset + entry.length)});
  }
  return out;
}

TEST(Signer, EcdsaImageHasImgtoolsHeaderDigestAndKeyHash) {
  const Key key = Key::Load(VectorPath("ecdsa-p256-test-key.pem"));
  const auto image = BuildSignedImage(Payload(), RecordedOptions(), &key);
  const auto reference = ReadFileBytes(VectorPath("ecdsa-v1.2.3+4.bin"));
  // Everything up to the TLVs is deterministic: byte-identical with imgtool.
  const size_t hashed = 0x400 + 20000;
  ASSERT_GE(image.size(), hashed + 4 + 36 + 36 + 4 + 70);
  EXPECT_EQ(std::vector<uint8_t>(image.begin(), image.begin() + hashed),
            std::vector<uint8_t>(reference.begin(), reference.begin() + hashed));
  const auto tlvs = UnprotectedTlvs(image);
  const auto& expected = ExpectedVectors()["images"]["ecdsa-v1.2.3+4.bin"];
  ASSERT_EQ(tlvs.size(), 3u);
  EXPECT_EQ(tlvs[0].type, image::tlv::kSha256);
  EXPECT_EQ(ToHex(tlvs[0].value), expected["sha256_digest"].get<std::string>());
  EXPECT_EQ(tlvs[1].type, image::tlv::kKeyHash);
  EXPECT_EQ(ToHex(tlvs[1].value), expected["expected_keyhash"].get<std::string>());
  EXPECT_EQ(tlvs[2].type, image::tlv::kEcdsaSig);
  EXPECT_GE(tlvs[2].value.size(), 68u);
  EXPECT_LE(tlvs[2].value.size(), 72u);
}

TEST(Signer, EcdsaImageVerifiesWithTheDeviceBackendAndWithOpensslDgst) {
  const Key key = Key::Load(VectorPath("ecdsa-p256-test-key.pem"));
  const auto image = BuildSignedImage(Payload(), RecordedOptions(), &key);
  const auto der = key.PublicKeyDer();
  const image::TrustedKey trusted[] = {{image::SignatureType::kEcdsaP256, der}};
  image::ValidationOptions options;
  options.trusted_keys = trusted;
  ports::MbedtlsCrypto mbedtls;
  image::MemoryImageSource source(image);
  auto result = image::ValidateImage(source, mbedtls, options);
  ASSERT_TRUE(result.ok()) << image::Describe(result.error().code);
  EXPECT_EQ(result->signing_key_index, 0u);

  // `openssl dgst -sha256 -verify` over the hashed region, as
  // docs/spec/mcuboot-image.md#signatures-and-key-selection says.
  TempDir dir;
  const auto tlvs = UnprotectedTlvs(image);
  testing::WriteFileBytes(dir / "region.bin", std::span(image).first(0x400 + 20000));
  testing::WriteFileBytes(dir / "sig.der", tlvs[2].value);
  const auto run =
      testing::RunProcess({"/usr/bin/openssl", "dgst", "-sha256", "-verify",
                           VectorPath("ecdsa-p256-test-key.pub.pem").string(), "-signature",
                           (dir / "sig.der").string(), (dir / "region.bin").string()});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.out, "Verified OK\n");
}

TEST(Signer, Ed25519ImageIsDeterministicAndVerifies) {
  const Key key = Key::Load(VectorPath("ed25519-test-key.pem"));
  const auto first = BuildSignedImage(Payload(), RecordedOptions(), &key);
  const auto second = BuildSignedImage(Payload(), RecordedOptions(), &key);
  EXPECT_EQ(first, second);
  const auto tlvs = UnprotectedTlvs(first);
  ASSERT_EQ(tlvs.size(), 3u);
  EXPECT_EQ(ToHex(tlvs[1].value),
            ExpectedVectors()["keys"]["ed25519"]["keyhash_sha256"].get<std::string>());
  EXPECT_EQ(tlvs[2].type, image::tlv::kEd25519);
  EXPECT_EQ(tlvs[2].value.size(), 64u);

  const auto der = key.PublicKeyDer();
  const image::TrustedKey trusted[] = {{image::SignatureType::kEd25519, der}};
  image::ValidationOptions options;
  options.trusted_keys = trusted;
  ports::OpensslCrypto openssl;
  image::MemoryImageSource source(first);
  auto result = image::ValidateImage(source, openssl, options);
  ASSERT_TRUE(result.ok()) << image::Describe(result.error().code);

  // The device's mbedTLS backend has no Ed25519: it must say so, not accept.
  ports::MbedtlsCrypto mbedtls;
  auto device = image::ValidateImage(source, mbedtls, options);
  ASSERT_FALSE(device.ok());
  EXPECT_EQ(device.error().code, image::ImageErrc::kUnsupportedSignature);
}

TEST(Signer, UnsignedImageMatchesImgtoolByteForByte) {
  const auto image = BuildSignedImage(Payload(), RecordedOptions(), nullptr);
  EXPECT_EQ(image, ReadFileBytes(VectorPath("unsigned-hashonly-v1.2.3+4.bin")));
}

TEST(Signer, PadWritesImgtoolsTrailerAndConfirmSetsImageOk) {
  const Key key = Key::Load(VectorPath("ecdsa-p256-test-key.pem"));
  auto options = RecordedOptions();
  options.pad = true;
  const auto padded = BuildSignedImage(Payload(), options, &key);
  const auto reference = ReadFileBytes(VectorPath("ecdsa-v1.2.3+4-pad-slot64k.bin"));
  ASSERT_EQ(padded.size(), 0x10000u);
  // After the image: erased bytes, then the magic in the last 16 (as imgtool).
  const auto magic = std::vector<uint8_t>(padded.end() - 16, padded.end());
  EXPECT_EQ(magic, std::vector<uint8_t>(reference.end() - 16, reference.end()));
  EXPECT_EQ(ToHex(magic), "77c295f360d2ef7f3552500f2cb67980");
  EXPECT_EQ(padded[padded.size() - 24], 0xff);  // image_ok unset: pending test
  EXPECT_EQ(std::vector<uint8_t>(padded.end() - 3120, padded.end() - 16),
            std::vector<uint8_t>(3120 - 16, 0xff));

  options.confirm = true;
  const auto confirmed = BuildSignedImage(Payload(), options, &key);
  EXPECT_EQ(confirmed[confirmed.size() - 24], boot::kFlagSet);
  EXPECT_EQ(confirmed[confirmed.size() - 32], 0xff);  // copy_done never written
  EXPECT_EQ(confirmed[confirmed.size() - 40], 0xff);  // nor swap_info
}

TEST(Signer, ErasedValueZeroPadsHeaderAndSlotWithZeros) {
  auto options = RecordedOptions();
  options.erased_value = 0x00;
  options.pad = true;
  const auto image = BuildSignedImage(Payload(), options, nullptr);
  EXPECT_EQ(std::vector<uint8_t>(image.begin() + 32, image.begin() + 0x400),
            std::vector<uint8_t>(0x400 - 32, 0x00));
  EXPECT_EQ(image[image.size() - 17], 0x00);
}

TEST(Signer, LargerMaxAlignUsesTheAlignmentMagicAndOffsets) {
  auto options = RecordedOptions();
  options.align = 16;
  options.confirm = true;
  const auto image = BuildSignedImage(Payload(), options, nullptr);
  EXPECT_EQ(ToHex(std::span(image).last(16)), "10002de15d29410b8d77679c110f1f8a");
  EXPECT_EQ(image[image.size() - 32], boot::kFlagSet);
}

TEST(Signer, SecurityCounterAutoGoesIntoTheProtectedBlock) {
  auto options = RecordedOptions();
  options.security_counter = AutoSecurityCounter(options.version);
  const auto image = BuildSignedImage(Payload(), options, nullptr);
  image::MemoryImageSource source(image);
  ports::MbedtlsCrypto crypto;
  image::ValidationOptions v;
  v.require_signature = false;
  auto result = image::ValidateImage(source, crypto, v);
  ASSERT_TRUE(result.ok()) << image::Describe(result.error().code);
  EXPECT_EQ(result->layout.header.protect_tlv_size, 12u);
  EXPECT_EQ(result->security_counter, 0x01020003u);
}

TEST(Signer, LoadAddressSetsRamLoadAsTheReferenceBuildDoes) {
  auto options = RecordedOptions();
  options.load_addr = 0x10018000;
  const auto image = BuildSignedImage(Payload(), options, nullptr);
  image::MemoryImageSource source(image);
  auto layout = image::ParseLayout(source);
  ASSERT_TRUE(layout.ok());
  EXPECT_EQ(layout->header.flags, image::flags::kRamLoad);
  EXPECT_EQ(layout->header.load_addr, 0x10018000u);
}

TEST(Signer, RefusesAnImageThatDoesNotFitTheSlotWithTheNumbers) {
  auto options = RecordedOptions();
  options.slot_size = 0x5e00;  // 24064 < 21064 + 3120 trailer
  try {
    BuildSignedImage(Payload(), options, nullptr);
    FAIL() << "expected a size error";
  } catch (const CommandError& e) {
    EXPECT_EQ(e.exit_code(), kExitUsage);
    EXPECT_STREQ(e.what(), "Image size (0x5248) + trailer (0xc30) exceeds requested size 0x5e00");
  }
}

TEST(Signer, RefusesNonZeroHeaderWithoutPadHeader) {
  auto options = RecordedOptions();
  options.pad_header = false;
  EXPECT_THROW(BuildSignedImage(Payload(), options, nullptr), CommandError);
  std::vector<uint8_t> zeros(0x400, 0);
  const auto payload = Payload();
  zeros.insert(zeros.end(), payload.begin(), payload.end());
  const auto image = BuildSignedImage(zeros, options, nullptr);
  EXPECT_EQ(image[32], 0x00);  // the zeros stay
}

TEST(Signer, RefusesAPublicOnlyKey) {
  const Key key = Key::Load(VectorPath("ecdsa-p256-test-key.pub.pem"));
  EXPECT_FALSE(key.has_private());
  EXPECT_THROW(BuildSignedImage(Payload(), RecordedOptions(), &key), CommandError);
}

}  // namespace
}  // namespace mqota::host
