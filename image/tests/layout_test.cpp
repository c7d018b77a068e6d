#include "mqota/image/layout.h"

#include <gtest/gtest.h>

#include "mqota/image/tlv.h"
#include "mqota/ports/mbedtls/mbedtls_crypto.h"
#include "test_image.h"

namespace mqota::image {
namespace {

using testing::RawTlv;
using testing::TestImage;

class ImageLayoutTest : public ::testing::Test {
 protected:
  ImageResult<ImageLayout> Parse(const std::vector<uint8_t>& bytes, LayoutLimits limits = {}) {
    MemoryImageSource source(bytes);
    return ParseLayout(source, limits);
  }
  ImageErrc ErrorOf(const std::vector<uint8_t>& bytes, LayoutLimits limits = {}) {
    auto result = Parse(bytes, limits);
    EXPECT_FALSE(result.ok());
    return result.ok() ? ImageErrc::kReadFailed : result.error().code;
  }
  ports::MbedtlsCrypto crypto_;
};

TEST_F(ImageLayoutTest, LocatesEveryPart) {
  TestImage t;
  t.protected_tlvs = {{tlv::kSecCnt, {1, 0, 0, 0}}};
  const auto bytes = t.Build(crypto_);
  auto layout = Parse(bytes);
  ASSERT_TRUE(layout.ok());
  EXPECT_EQ(layout->protected_tlv_offset, 0x200u + 1000);
  EXPECT_EQ(layout->header.protect_tlv_size, 4u + 8);
  EXPECT_EQ(layout->hashed_size, 0x200u + 1000 + 12);
  EXPECT_EQ(layout->tlv_offset, layout->hashed_size);
  EXPECT_EQ(layout->tlv_size, 4u + 36);
  EXPECT_EQ(layout->total_size, bytes.size());
}

TEST_F(ImageLayoutTest, RejectsBadMagicIncludingObsoleteV1AndErased) {
  TestImage t;
  for (uint32_t magic : {kImageMagicV1, 0xffffffffu, 0u}) {
    t.header.magic = magic;
    EXPECT_EQ(ErrorOf(t.Build(crypto_)), ImageErrc::kBadMagic) << std::hex << magic;
  }
}

TEST_F(ImageLayoutTest, RejectsSourcesShorterThanAHeader) {
  EXPECT_EQ(ErrorOf(std::vector<uint8_t>(31, 0)), ImageErrc::kTruncated);
  EXPECT_EQ(ErrorOf({}), ImageErrc::kTruncated);
}

TEST_F(ImageLayoutTest, RejectsHeaderSizeBelow32) {
  TestImage t;
  t.header.hdr_size = 32;
  EXPECT_TRUE(Parse(t.Build(crypto_)).ok());
  auto bytes = t.Build(crypto_);
  bytes[kOffHdrSize] = 31;
  EXPECT_EQ(ErrorOf(bytes), ImageErrc::kHeaderTooSmall);
}

TEST_F(ImageLayoutTest, RejectsImageSizeBeyondTheSourceAndWrappingSizes) {
  auto bytes = TestImage{}.Build(crypto_);
  StoreLe32(bytes, kOffImgSize, 1001);  // one byte more than there is: TLV info misplaced
  EXPECT_NE(ErrorOf(bytes), ImageErrc::kReadFailed);
  StoreLe32(bytes, kOffImgSize, 0x00ffffff);
  EXPECT_EQ(ErrorOf(bytes), ImageErrc::kTruncated);
  StoreLe32(bytes, kOffImgSize, 0xfffffe00);  // hdr_size + img_size wraps in 32 bits
  EXPECT_EQ(ErrorOf(bytes), ImageErrc::kSizeOverflow);
}

TEST_F(ImageLayoutTest, TruncatedAnywhereIsReportedNotRead) {
  const auto bytes = TestImage{}.Build(crypto_);
  for (size_t cut = kHeaderSizeBytes; cut < bytes.size(); ++cut) {
    const std::vector<uint8_t> prefix(bytes.begin(), bytes.begin() + static_cast<long>(cut));
    EXPECT_EQ(ErrorOf(prefix), ImageErrc::kTruncated) << "cut at " << cut;
  }
}

TEST_F(ImageLayoutTest, LimitTurnsOversizedImagesIntoTooLarge) {
  const auto bytes = TestImage{}.Build(crypto_);
  EXPECT_TRUE(Parse(bytes, {static_cast<uint32_t>(bytes.size())}).ok());
  EXPECT_EQ(ErrorOf(bytes, {static_cast<uint32_t>(bytes.size() - 1)}), ImageErrc::kTooLarge);
}

TEST_F(ImageLayoutTest, RejectsWrongTlvInfoMagic) {
  auto bytes = TestImage{}.Build(crypto_);
  bytes[0x200 + 1000] ^= 0x01;
  EXPECT_EQ(ErrorOf(bytes), ImageErrc::kBadTlvInfo);
}

TEST_F(ImageLayoutTest, RejectsProtectedBlockTheHeaderDoesNotDeclare) {
  TestImage t;
  t.protected_tlvs = {{tlv::kSecCnt, {1, 0, 0, 0}}};
  auto bytes = t.Build(crypto_);
  StoreLe16(bytes, kOffProtectTlvSize, 0);
  EXPECT_EQ(ErrorOf(bytes), ImageErrc::kBadProtectedTlvInfo);
}

TEST_F(ImageLayoutTest, RejectsProtectedSizeMismatch) {
  TestImage t;
  t.protected_tlvs = {{tlv::kSecCnt, {1, 0, 0, 0}}};
  auto bytes = t.Build(crypto_);
  StoreLe16(bytes, kOffProtectTlvSize, 16);
  EXPECT_EQ(ErrorOf(bytes), ImageErrc::kBadProtectedTlvInfo);
  StoreLe16(bytes, kOffProtectTlvSize, 2);  // smaller than its own info header
  EXPECT_EQ(ErrorOf(bytes), ImageErrc::kBadProtectedTlvInfo);
}

TEST_F(ImageLayoutTest, TlvIteratorStopsAtAnEntryRunningPastItsBlock) {
  TestImage t;
  t.tlvs = {{tlv::kKeyHash, std::vector<uint8_t>(32, 1)}};
  auto bytes = t.Build(crypto_);
  MemoryImageSource source(bytes);
  auto layout = ParseLayout(source);
  ASSERT_TRUE(layout.ok());
  // KEYHASH length field: 4 (info) + 36 (SHA256 entry) + 2 bytes into the entry.
  StoreLe16(bytes, layout->tlv_offset + 4 + 36 + 2, 33);
  TlvIterator it(source, *layout, TlvIterator::Block::kUnprotected);
  auto first = it.Next();
  ASSERT_TRUE(first.ok());
  EXPECT_EQ((*first)->type, tlv::kSha256);
  auto second = it.Next();
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().code, ImageErrc::kTlvOverrun);
  EXPECT_EQ(second.error().offset, layout->tlv_offset + 4 + 36);
  auto after = it.Next();  // stays at the end
  ASSERT_TRUE(after.ok());
  EXPECT_FALSE(after->has_value());
}

TEST_F(ImageLayoutTest, TlvIteratorRejectsAPartialEntryHeader) {
  TestImage t;
  auto bytes = t.Build(crypto_);
  MemoryImageSource source(bytes);
  auto layout = ParseLayout(source);
  ASSERT_TRUE(layout.ok());
  // Claim two more bytes in the block than the SHA256 entry fills.
  bytes.push_back(0);
  bytes.push_back(0);
  StoreLe16(bytes, layout->tlv_offset + 2, static_cast<uint16_t>(layout->tlv_size + 2));
  MemoryImageSource grown(bytes);
  auto grown_layout = ParseLayout(grown);
  ASSERT_TRUE(grown_layout.ok());
  TlvIterator it(grown, *grown_layout, TlvIterator::Block::kUnprotected);
  ASSERT_TRUE(it.Next().ok());
  auto partial = it.Next();
  ASSERT_FALSE(partial.ok());
  EXPECT_EQ(partial.error().code, ImageErrc::kTlvOverrun);
}

}  // namespace
}  // namespace mqota::image
