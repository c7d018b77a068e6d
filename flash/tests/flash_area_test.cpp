#include "mqota/flash/flash_area.h"

#include <gtest/gtest.h>

#include <vector>

#include "mqota/testing/test_flash.h"

namespace mqota::flash {
namespace {

void ExpectError(const FlashStatus& status, FlashErrc code, FlashOp op, uint32_t offset) {
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, code) << Describe(status.error().code);
  EXPECT_EQ(status.error().op, op);
  EXPECT_EQ(status.error().offset, offset);
}

TEST(FlashArea, AddressesRelativeToItsStart) {
  testing::OwnedRamFlash ram(testing::Uniform());
  const FlashArea area(ram.device(), 512, 768);
  EXPECT_TRUE(area.IsValid());
  const std::vector<uint8_t> data{1, 2, 3};
  ASSERT_TRUE(area.Write(10, data).ok());
  EXPECT_EQ(ram.contents()[522], 1);
  EXPECT_EQ(ram.contents()[524], 3);
  EXPECT_EQ(ram.contents()[10], 0xFF);
  std::vector<uint8_t> out(3);
  ASSERT_TRUE(area.Read(10, out).ok());
  EXPECT_EQ(out, data);
  ASSERT_TRUE(area.Erase(0, 256).ok());
  EXPECT_EQ(ram.contents()[522], 0xFF);
}

TEST(FlashArea, RefusesRangesOutsideTheAreaEvenInsideTheDevice) {
  testing::OwnedNorFlash nor(testing::Uniform());
  const FlashArea area(nor.model(), 512, 512);
  std::vector<uint8_t> two(2);
  ExpectError(area.Read(511, two), FlashErrc::kOutOfBounds, FlashOp::kRead, 511);
  ExpectError(area.Write(512, two), FlashErrc::kOutOfBounds, FlashOp::kWrite, 512);
  ExpectError(area.Write(0xFFFFFFFFu, two), FlashErrc::kOutOfBounds, FlashOp::kWrite, 0xFFFFFFFFu);
  ExpectError(area.Erase(256, 512), FlashErrc::kOutOfBounds, FlashOp::kErase, 256);
  EXPECT_EQ(nor->counters().reads + nor->operations(), 0u);  // nothing reached the device
  for (uint8_t b : nor.contents()) ASSERT_EQ(b, 0xFF);
}

TEST(FlashArea, DeviceErrorsReportAreaRelativeOffsets) {
  testing::OwnedNorFlash nor(testing::Uniform(4));
  const FlashArea area(nor.model(), 1024, 512);
  const std::vector<uint8_t> data(8, 0x11);
  ASSERT_TRUE(area.Write(16, data).ok());
  const std::vector<uint8_t> wide(16, 0x22);
  ExpectError(area.Write(8, wide), FlashErrc::kNotErased, FlashOp::kWrite, 16);
  ExpectError(area.Write(2, data), FlashErrc::kMisaligned, FlashOp::kWrite, 2);
  ExpectError(area.Erase(0, 128), FlashErrc::kNotSectorAligned, FlashOp::kErase, 0);
}

TEST(FlashArea, SectorsAreAreaRelativeOnAMixedDevice) {
  testing::OwnedRamFlash ram(testing::Mixed());
  const FlashArea area(ram.device(), 128, 1536 - 128 - 512);  // two 64s, the 256, one 512
  ASSERT_TRUE(area.IsValid());
  EXPECT_EQ(area.sector_count(), 4u);
  const std::optional<Sector> s0 = area.SectorByIndex(0);
  ASSERT_TRUE(s0.has_value());
  EXPECT_EQ(s0->offset_bytes, 0u);
  EXPECT_EQ(s0->size_bytes, 64u);
  const std::optional<Sector> s3 = area.SectorByIndex(3);
  ASSERT_TRUE(s3.has_value());
  EXPECT_EQ(s3->index, 3u);
  EXPECT_EQ(s3->offset_bytes, 384u);
  EXPECT_EQ(s3->size_bytes, 512u);
  EXPECT_FALSE(area.SectorByIndex(4).has_value());
  const std::optional<Sector> c = area.SectorContaining(200);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->index, 2u);
  EXPECT_EQ(c->offset_bytes, 128u);
  EXPECT_EQ(c->size_bytes, 256u);
  EXPECT_FALSE(area.SectorContaining(area.size_bytes()).has_value());
}

TEST(FlashArea, IsValidOnlyOnSectorBoundariesInsideTheDevice) {
  testing::OwnedRamFlash ram(testing::Mixed());
  EXPECT_TRUE(FlashArea(ram.device(), 0, 1536).IsValid());
  EXPECT_FALSE(FlashArea(ram.device(), 0, 0).IsValid());
  EXPECT_FALSE(FlashArea(ram.device(), 32, 64).IsValid());
  EXPECT_FALSE(FlashArea(ram.device(), 256, 128).IsValid());
  EXPECT_FALSE(FlashArea(ram.device(), 1024, 1024).IsValid());
  EXPECT_FALSE(FlashArea(ram.device(), 0xFFFFFE00u, 0x400).IsValid());
}

TEST(FlashArea, EraseAllIsOneOperation) {
  testing::OwnedNorFlash nor(testing::Uniform());
  const FlashArea area(nor.model(), 256, 1024);
  const std::vector<uint8_t> data(1024, 0x33);
  ASSERT_TRUE(area.Write(0, data).ok());
  nor->ResetCounters();
  ASSERT_TRUE(area.EraseAll().ok());
  EXPECT_EQ(nor->counters().erases, 1u);
  for (uint32_t i = 0; i < 2048; ++i) EXPECT_EQ(nor.contents()[i], 0xFF) << i;
}

TEST(FlashArea, IsErasedLooksAtEveryByte) {
  for (uint8_t erased : {uint8_t{0xFF}, uint8_t{0x00}}) {
    testing::OwnedRamFlash ram(testing::Uniform(1, erased));
    const FlashArea area(ram.device(), 256, 512);
    std::vector<uint8_t> scratch(7);  // odd size: chunks must not skip bytes
    Result<bool, FlashError> r = area.IsErased(0, 512, scratch);
    ASSERT_TRUE(r.ok());
    EXPECT_TRUE(*r);
    const std::vector<uint8_t> one{0x42};
    ASSERT_TRUE(area.Write(500, one).ok());
    EXPECT_FALSE(area.IsErased(0, 512, scratch).value());
    EXPECT_FALSE(area.IsErased(0, 512).value());
    EXPECT_TRUE(area.IsErased(0, 500).value());
    EXPECT_TRUE(area.IsErased(501, 11).value());
    EXPECT_FALSE(area.IsErased(0, 513).ok());
  }
}

}  // namespace
}  // namespace mqota::flash
