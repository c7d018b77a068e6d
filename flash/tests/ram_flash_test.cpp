#include "mqota/flash/ram_flash.h"

#include <gtest/gtest.h>

#include <vector>

#include "mqota/testing/test_flash.h"

namespace mqota::flash {
namespace {

TEST(RamFlash, StartsErasedWithEitherErasedValue) {
  for (uint8_t erased : {uint8_t{0xFF}, uint8_t{0x00}}) {
    const FlashGeometry g = testing::Uniform(4, erased);
    std::vector<uint8_t> storage(g.size_bytes(), 0x5A);
    RamFlash dev(g, storage);
    for (uint8_t b : storage) ASSERT_EQ(b, erased);
  }
}

TEST(RamFlash, WritesLandInTheCallersStorage) {
  const FlashGeometry g = testing::Mixed(2);
  std::vector<uint8_t> storage(g.size_bytes());
  RamFlash dev(g, storage);
  const std::vector<uint8_t> data{1, 2, 3, 4};
  ASSERT_TRUE(dev.Write(510, data).ok());  // crosses the 256/512 sector boundary
  EXPECT_EQ(storage[509], 0xFF);
  EXPECT_EQ(std::vector<uint8_t>(storage.begin() + 510, storage.begin() + 514), data);
  EXPECT_EQ(storage[514], 0xFF);
  ASSERT_TRUE(dev.Erase(512, 512).ok());
  EXPECT_EQ(storage[510], 1);
  EXPECT_EQ(storage[511], 2);
  EXPECT_EQ(storage[512], 0xFF);
  EXPECT_EQ(storage[513], 0xFF);
}

TEST(RamFlashDeathTest, StorageOfTheWrongSizeTraps) {
  const FlashGeometry g = testing::Uniform();
  std::vector<uint8_t> storage(g.size_bytes() - 1);
  EXPECT_DEATH({ RamFlash dev(g, storage); }, "");
}

}  // namespace
}  // namespace mqota::flash
