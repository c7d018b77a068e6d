#include "mqota/boot/boot_record.h"

#include <gtest/gtest.h>

#include <string>

namespace mqota::boot {
namespace {

BootRecord Sample() {
  BootRecord r;
  r.swap = SwapType::kRevert;
  r.resumed = true;
  r.confirmed = true;
  r.rejected = RejectReason::kInvalid;
  r.image_error = {image::ImageErrc::kBadSignature, 0x5224};
  r.booted_version = {1, 1, 0, 7};
  r.rejected_version = {1, 2, 0, 0};
  r.previous_version = image::ImageVersion{1, 3, 0, 9};
  return r;
}

TEST(BootRecord, RoundTripsEveryField) {
  const auto bytes = EncodeBootRecord(Sample());
  EXPECT_EQ(DecodeBootRecord(bytes), Sample());
}

TEST(BootRecord, LayoutIsTheDocumentedOne) {
  const auto b = EncodeBootRecord(Sample());
  EXPECT_EQ(std::string(b.begin(), b.begin() + 4), "obqm");
  EXPECT_EQ(b[4], 1);     // format
  EXPECT_EQ(b[5], 4);     // REVERT
  EXPECT_EQ(b[6], 0x07);  // resumed | confirmed | previous version present
  EXPECT_EQ(b[7], static_cast<uint8_t>(RejectReason::kInvalid));
  EXPECT_EQ(b[8], static_cast<uint8_t>(image::ImageErrc::kBadSignature));
  EXPECT_EQ(b[12], 0x24);
  EXPECT_EQ(b[13], 0x52);
  EXPECT_EQ(b[16], 1);
  EXPECT_EQ(b[17], 1);
  EXPECT_EQ(b[20], 7);
  EXPECT_EQ(b[25], 2);
  EXPECT_EQ(b[33], 3);
  EXPECT_EQ(b[36], 9);
}

TEST(BootRecord, NoPreviousVersionRoundTripsAsNone) {
  BootRecord r = Sample();
  r.previous_version.reset();
  const auto b = EncodeBootRecord(r);
  EXPECT_EQ(b[6], 0x03);
  EXPECT_EQ(b[33], 0);
  EXPECT_EQ(DecodeBootRecord(b), r);
}

TEST(BootRecord, AnyFlippedBitMeansNoRecord) {
  const auto good = EncodeBootRecord(Sample());
  for (size_t i = 0; i < good.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      auto bad = good;
      bad[i] ^= static_cast<uint8_t>(1 << bit);
      EXPECT_FALSE(DecodeBootRecord(bad).has_value()) << "byte " << i << " bit " << bit;
    }
  }
  std::array<uint8_t, kBootRecordBytes> zeros{};
  EXPECT_FALSE(DecodeBootRecord(zeros).has_value());
}

TEST(BootRecord, Crc32cMatchesTheStandardCheckValue) {
  const std::string check = "123456789";
  EXPECT_EQ(Crc32c(std::span(reinterpret_cast<const uint8_t*>(check.data()), check.size())),
            0xe3069283u);
}

}  // namespace
}  // namespace mqota::boot
