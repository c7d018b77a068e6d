#include <gtest/gtest.h>

#include <array>

#include "mqota/flash/flash_device.h"
#include "mqota/testing/test_flash.h"

namespace mqota::flash {
namespace {

using testing::Mixed;
using testing::Uniform;

void ExpectSector(std::optional<Sector> sector, uint32_t index, uint32_t offset, uint32_t size) {
  ASSERT_TRUE(sector.has_value());
  EXPECT_EQ(sector->index, index);
  EXPECT_EQ(sector->offset_bytes, offset);
  EXPECT_EQ(sector->size_bytes, size);
}

TEST(FlashGeometry, UniformSizeAndSectors) {
  const FlashGeometry g = Uniform();
  EXPECT_TRUE(g.IsValid());
  EXPECT_EQ(g.size_bytes(), 2048u);
  EXPECT_EQ(g.sector_count(), 8u);
  ExpectSector(g.SectorByIndex(0), 0, 0, 256);
  ExpectSector(g.SectorByIndex(7), 7, 1792, 256);
  EXPECT_FALSE(g.SectorByIndex(8).has_value());
}

TEST(FlashGeometry, MixedSizeAndSectors) {
  const FlashGeometry g = Mixed();
  EXPECT_TRUE(g.IsValid());
  EXPECT_EQ(g.size_bytes(), 4u * 64 + 256 + 2 * 512);
  EXPECT_EQ(g.sector_count(), 7u);
  ExpectSector(g.SectorByIndex(3), 3, 192, 64);
  ExpectSector(g.SectorByIndex(4), 4, 256, 256);
  ExpectSector(g.SectorByIndex(5), 5, 512, 512);
  ExpectSector(g.SectorByIndex(6), 6, 1024, 512);
  EXPECT_FALSE(g.SectorByIndex(7).has_value());
}

TEST(FlashGeometry, SectorContainingFindsTheRightSectorAtEveryEdge) {
  const FlashGeometry g = Mixed();
  ExpectSector(g.SectorContaining(0), 0, 0, 64);
  ExpectSector(g.SectorContaining(63), 0, 0, 64);
  ExpectSector(g.SectorContaining(64), 1, 64, 64);
  ExpectSector(g.SectorContaining(255), 3, 192, 64);
  ExpectSector(g.SectorContaining(256), 4, 256, 256);
  ExpectSector(g.SectorContaining(511), 4, 256, 256);
  ExpectSector(g.SectorContaining(512), 5, 512, 512);
  ExpectSector(g.SectorContaining(1535), 6, 1024, 512);
  EXPECT_FALSE(g.SectorContaining(1536).has_value());
  EXPECT_FALSE(g.SectorContaining(0xFFFFFFFFu).has_value());
}

TEST(FlashGeometry, SectorContainingAgreesWithSectorByIndexForEveryByte) {
  const FlashGeometry g = Mixed();
  for (uint32_t offset = 0; offset < g.size_bytes(); ++offset) {
    const std::optional<Sector> s = g.SectorContaining(offset);
    ASSERT_TRUE(s.has_value()) << offset;
    const std::optional<Sector> by_index = g.SectorByIndex(s->index);
    ASSERT_TRUE(by_index.has_value());
    EXPECT_EQ(by_index->offset_bytes, s->offset_bytes);
    EXPECT_LE(s->offset_bytes, offset);
    EXPECT_LT(offset, s->offset_bytes + s->size_bytes);
  }
}

TEST(FlashGeometry, IsSectorAligned) {
  const FlashGeometry g = Mixed();
  EXPECT_TRUE(g.IsSectorAligned(0, 64));
  EXPECT_TRUE(g.IsSectorAligned(0, 1536));
  EXPECT_TRUE(g.IsSectorAligned(192, 64 + 256));
  EXPECT_TRUE(g.IsSectorAligned(1536, 0));
  EXPECT_FALSE(g.IsSectorAligned(0, 65));
  EXPECT_FALSE(g.IsSectorAligned(1, 63));
  EXPECT_FALSE(g.IsSectorAligned(256, 64));  // inside the 256-byte sector
  EXPECT_FALSE(g.IsSectorAligned(1024, 1024));
  EXPECT_FALSE(g.IsSectorAligned(0xFFFFFF00u, 0x200));  // end overflows 32 bits
}

TEST(FlashGeometry, RefusesInvalidGeometries) {
  static constexpr std::array<SectorRun, 1> kOdd{{{4, 100}}};
  static constexpr std::array<SectorRun, 2> kEmptyRun{{{4, 64}, {0, 64}}};
  static constexpr std::array<SectorRun, 1> kZeroSize{{{4, 0}}};
  static constexpr std::array<SectorRun, 2> kTooBig{{{65536, 65536}, {1, 65536}}};
  EXPECT_FALSE((FlashGeometry{{}, 1, 0xFF}.IsValid()));
  EXPECT_FALSE((FlashGeometry{testing::kUniformRuns, 0, 0xFF}.IsValid()));
  EXPECT_FALSE((FlashGeometry{testing::kUniformRuns, 3, 0xFF}.IsValid()));
  EXPECT_FALSE((FlashGeometry{testing::kUniformRuns, 64, 0xFF}.IsValid()));
  EXPECT_FALSE((FlashGeometry{testing::kUniformRuns, 1, 0xAA}.IsValid()));
  EXPECT_FALSE((FlashGeometry{kOdd, 8, 0xFF}.IsValid()));  // 100 is not a multiple of 8
  EXPECT_TRUE((FlashGeometry{kOdd, 4, 0xFF}.IsValid()));
  EXPECT_FALSE((FlashGeometry{kEmptyRun, 1, 0xFF}.IsValid()));
  EXPECT_FALSE((FlashGeometry{kZeroSize, 1, 0xFF}.IsValid()));
  const FlashGeometry too_big{kTooBig, 1, 0xFF};
  EXPECT_FALSE(too_big.IsValid());
  EXPECT_EQ(too_big.size_bytes(), 0u);  // does not wrap to a small, plausible size
  for (uint32_t w : {1u, 2u, 4u, 8u, 16u, 32u}) {
    EXPECT_TRUE(Uniform(w, 0x00).IsValid()) << w;
  }
}

}  // namespace
}  // namespace mqota::flash
