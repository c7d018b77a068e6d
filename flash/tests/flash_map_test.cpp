#include "mqota/flash/flash_map.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "mqota/testing/test_flash.h"

namespace mqota::flash {
namespace {

class FlashMapTest : public ::testing::Test {
 protected:
  // 8 × 256 bytes: boot 0..255, primary 256..1023, secondary 1024..1791, scratch 1792..2047.
  FlashMap GoodMap() {
    FlashMap map;
    map.Set(AreaId::kBoot, FlashArea(chip_.device(), 0, 256));
    map.Set(AreaId::kPrimary, FlashArea(chip_.device(), 256, 768));
    map.Set(AreaId::kSecondary, FlashArea(chip_.device(), 1024, 768));
    map.Set(AreaId::kScratch, FlashArea(chip_.device(), 1792, 256));
    return map;
  }
  void ExpectError(const FlashMap& map, FlashMapErrc code, AreaId area, AreaId other) {
    Result<void, FlashMapError> r = map.Validate();
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, code) << Describe(r.error().code);
    EXPECT_EQ(r.error().area, area) << AreaName(r.error().area);
    EXPECT_EQ(r.error().other, other) << AreaName(r.error().other);
  }
  testing::OwnedRamFlash chip_{testing::Uniform()};
  testing::OwnedRamFlash other_chip_{testing::Uniform()};
};

TEST_F(FlashMapTest, AcceptsAGoodMap) {
  FlashMap map = GoodMap();
  EXPECT_TRUE(map.Validate().ok());
  ASSERT_NE(map.Find(AreaId::kSecondary), nullptr);
  EXPECT_EQ(map.Find(AreaId::kSecondary)->offset_bytes(), 1024u);
}

TEST_F(FlashMapTest, ScratchAndBootAreOptional) {
  FlashMap map = GoodMap();
  map.Clear(AreaId::kScratch);
  map.Clear(AreaId::kBoot);
  EXPECT_EQ(map.Find(AreaId::kScratch), nullptr);
  EXPECT_TRUE(map.Validate().ok());
}

TEST_F(FlashMapTest, RefusesAMissingPrimaryOrSecondary) {
  FlashMap map = GoodMap();
  map.Clear(AreaId::kPrimary);
  ExpectError(map, FlashMapErrc::kMissingArea, AreaId::kPrimary, AreaId::kPrimary);
  map = GoodMap();
  map.Clear(AreaId::kSecondary);
  ExpectError(map, FlashMapErrc::kMissingArea, AreaId::kSecondary, AreaId::kSecondary);
}

TEST_F(FlashMapTest, RefusesOverlappingAreasOnOneDevice) {
  FlashMap map = GoodMap();
  map.Set(AreaId::kScratch, FlashArea(chip_.device(), 1536, 512));  // last sector of secondary
  ExpectError(map, FlashMapErrc::kOverlap, AreaId::kSecondary, AreaId::kScratch);
  map = GoodMap();
  map.Set(AreaId::kSecondary, FlashArea(chip_.device(), 256, 768));  // same as primary
  ExpectError(map, FlashMapErrc::kOverlap, AreaId::kPrimary, AreaId::kSecondary);
}

TEST_F(FlashMapTest, SameRangeOnAnotherDeviceIsNoOverlap) {
  FlashMap map = GoodMap();
  map.Set(AreaId::kSecondary, FlashArea(other_chip_.device(), 256, 768));
  EXPECT_TRUE(map.Validate().ok());
}

TEST_F(FlashMapTest, RefusesMisalignedEmptyOrOutsideAreas) {
  FlashMap map = GoodMap();
  map.Set(AreaId::kScratch, FlashArea(chip_.device(), 1792, 128));
  ExpectError(map, FlashMapErrc::kNotSectorAligned, AreaId::kScratch, AreaId::kScratch);
  map = GoodMap();
  map.Set(AreaId::kBoot, FlashArea(chip_.device(), 0, 0));
  ExpectError(map, FlashMapErrc::kEmptyArea, AreaId::kBoot, AreaId::kBoot);
  map = GoodMap();
  map.Set(AreaId::kScratch, FlashArea(chip_.device(), 1792, 512));
  ExpectError(map, FlashMapErrc::kOutOfDevice, AreaId::kScratch, AreaId::kScratch);
}

TEST(FlashMap, NamesAndSentences) {
  EXPECT_STREQ(AreaName(AreaId::kBoot), "boot");
  EXPECT_STREQ(AreaName(AreaId::kPrimary), "primary");
  EXPECT_STREQ(AreaName(AreaId::kSecondary), "secondary");
  EXPECT_STREQ(AreaName(AreaId::kScratch), "scratch");
  std::set<std::string> sentences;
  for (FlashMapErrc code :
       {FlashMapErrc::kMissingArea, FlashMapErrc::kEmptyArea, FlashMapErrc::kOutOfDevice,
        FlashMapErrc::kNotSectorAligned, FlashMapErrc::kOverlap}) {
    sentences.insert(Describe(code));
  }
  EXPECT_EQ(sentences.size(), 5u);
}

TEST(FlashMap, FindOutsideTheEnumIsNull) {
  const FlashMap map;
  EXPECT_EQ(map.Find(static_cast<AreaId>(9)), nullptr);
}

// The map can be built in a constant expression (nothing to run at start-up).
constexpr bool BuildsAtCompileTime() {
  FlashMap map;
  map.Clear(AreaId::kScratch);
  return map.Find(AreaId::kPrimary) == nullptr;
}
static_assert(BuildsAtCompileTime());

}  // namespace
}  // namespace mqota::flash
