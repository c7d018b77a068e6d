#include "mqota/delta/format.h"

#include <gtest/gtest.h>

#include <array>

#include "mqota/base/crc32c.h"
#include "mqota/base/endian.h"

namespace mqota::delta {
namespace {

PatchHeader SampleHeader() {
  PatchHeader h;
  h.block_bytes = 4096;
  h.target_size_bytes = 10000;
  h.block_count = 3;
  h.source_size_bytes = 9000;
  for (size_t i = 0; i < kDigestBytes; ++i) {
    h.source_sha256[i] = static_cast<uint8_t>(i);
    h.target_sha256[i] = static_cast<uint8_t>(0x80 + i);
  }
  h.source_version = {1, 0, 0, 0};
  h.target_version = {1, 1, 2, 3};
  return h;
}

using Bytes = std::array<uint8_t, kPatchHeaderBytes>;

Bytes Encode(const PatchHeader& h) {
  Bytes bytes{};
  EncodePatchHeader(h, bytes);
  return bytes;
}

// Changes a field and makes the CRC right again, as a hostile patch would.
Bytes Forged(const PatchHeader& h, size_t offset, uint32_t value) {
  Bytes bytes = Encode(h);
  StoreLe32(bytes, offset, value);
  StoreLe32(bytes, kOffHeaderCrc, Crc32c(std::span<const uint8_t>(bytes).first(kOffHeaderCrc)));
  return bytes;
}

TEST(DeltaFormat, HeaderRoundTrips) {
  const auto bytes = Encode(SampleHeader());
  EXPECT_EQ(LoadLe32(bytes, 0), kPatchMagic);
  EXPECT_EQ(bytes[0], 0x4d);  // "MQDP" on the wire
  EXPECT_EQ(bytes[kOffFormat], kPatchFormat);
  const auto parsed = ParsePatchHeader(bytes);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(*parsed, SampleHeader());
  // An older format is read and written back as it is (the agent's journal
  // keeps the header it resumes with).
  PatchHeader old = SampleHeader();
  old.format = kOldestPatchFormat;
  const auto reparsed = ParsePatchHeader(Encode(old));
  ASSERT_TRUE(reparsed.ok());
  EXPECT_EQ(*reparsed, old);
}

TEST(DeltaFormat, BlockLengthsCoverTheTarget) {
  const PatchHeader h = SampleHeader();
  EXPECT_EQ(h.BlockLength(0), 4096u);
  EXPECT_EQ(h.BlockLength(2), 10000u - 8192u);
  EXPECT_EQ(h.BlockLength(3), 0u);
}

TEST(DeltaFormat, RefusesBadMagicFormatAndCrc) {
  Bytes bytes = Encode(SampleHeader());
  bytes[0] ^= 1;
  EXPECT_EQ(ParsePatchHeader(bytes).error().code, DeltaErrc::kBadMagic);
  for (const uint8_t format : {uint8_t{0}, uint8_t{kPatchFormat + 1}, uint8_t{0xff}}) {
    bytes = Encode(SampleHeader());
    bytes[kOffFormat] = format;
    EXPECT_EQ(ParsePatchHeader(bytes).error().code, DeltaErrc::kBadFormat) << int{format};
  }
  bytes = Encode(SampleHeader());
  bytes[kOffTargetSha256] ^= 0x40;
  EXPECT_EQ(ParsePatchHeader(bytes).error().code, DeltaErrc::kBadHeader);
}

TEST(DeltaFormat, RefusesInconsistentFieldsEvenWithAGoodCrc) {
  const PatchHeader h = SampleHeader();
  EXPECT_EQ(ParsePatchHeader(Forged(h, kOffBlockCount, 4)).error().code, DeltaErrc::kBadHeader);
  EXPECT_EQ(ParsePatchHeader(Forged(h, kOffBlockBytes, 255)).error().code, DeltaErrc::kBadHeader);
  EXPECT_EQ(ParsePatchHeader(Forged(h, kOffBlockBytes, kMaxBlockBytes + 1)).error().code,
            DeltaErrc::kBadHeader);
  EXPECT_EQ(ParsePatchHeader(Forged(h, kOffTargetSize, 0)).error().code, DeltaErrc::kBadHeader);
  EXPECT_EQ(ParsePatchHeader(Forged(h, kOffSourceSize, 0)).error().code, DeltaErrc::kBadHeader);
  // A block count that would wrap a 32-bit product.
  EXPECT_EQ(ParsePatchHeader(Forged(h, kOffTargetSize, 0xffffffffu)).error().code,
            DeltaErrc::kBadHeader);
}

TEST(DeltaFormat, VarintsAndZigZag) {
  std::array<uint8_t, kMaxVarintBytes> out{};
  EXPECT_EQ(EncodeVarint(0, out), 1u);
  EXPECT_EQ(EncodeVarint(127, out), 1u);
  EXPECT_EQ(EncodeVarint(128, out), 2u);
  EXPECT_EQ(out[0], 0x80);
  EXPECT_EQ(out[1], 0x01);
  EXPECT_EQ(EncodeVarint(0xffffffffu, out), 5u);
  EXPECT_EQ(out[4], 0x0f);
  for (int32_t v : {0, 1, -1, 4096, -4096, INT32_MAX, INT32_MIN}) {
    EXPECT_EQ(UnZigZag(ZigZag(v)), v);
  }
  EXPECT_EQ(ZigZag(-1), 1u);
  EXPECT_EQ(ZigZag(1), 2u);
}

TEST(DeltaFormat, EveryErrorHasASentence) {
  for (int c = 0; c <= static_cast<int>(DeltaErrc::kFlash); ++c) {
    EXPECT_STRNE(Describe(static_cast<DeltaErrc>(c)), "unknown delta error");
  }
}

}  // namespace
}  // namespace mqota::delta
