// NorFlashModel's chip rules and counters (power cuts: nor_flash_model_power_test.cpp).
#include <gtest/gtest.h>

#include <tuple>
#include <vector>

#include "mqota/flash/nor_flash_model.h"
#include "mqota/testing/test_flash.h"

namespace mqota::flash {
namespace {

using testing::OwnedNorFlash;
using testing::Pattern;

void ExpectError(const FlashStatus& status, FlashErrc code, FlashOp op, uint32_t offset) {
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, code) << Describe(status.error().code);
  EXPECT_EQ(status.error().op, op);
  EXPECT_EQ(status.error().offset, offset);
}

class NorFlashModelRules : public ::testing::TestWithParam<std::tuple<uint32_t, uint8_t>> {
 protected:
  uint32_t w() const { return std::get<0>(GetParam()); }
  uint8_t erased() const { return std::get<1>(GetParam()); }
  FlashGeometry geometry() const { return testing::Mixed(w(), erased()); }
};

TEST_P(NorFlashModelRules, RefusesWriteOverUnerasedByte) {
  OwnedNorFlash nor(geometry());
  const std::vector<uint8_t> first = Pattern(2 * w(), 1);
  ASSERT_TRUE(nor->Write(2 * w(), first).ok());
  const std::vector<uint8_t> before(nor.contents().begin(), nor.contents().end());
  // Starts on erased bytes, runs into written ones: refused at the first written byte.
  const std::vector<uint8_t> second = Pattern(2 * w(), 2);
  ExpectError(nor->Write(w(), second), FlashErrc::kNotErased, FlashOp::kWrite, 2 * w());
  EXPECT_EQ(std::vector<uint8_t>(nor.contents().begin(), nor.contents().end()), before);
  EXPECT_EQ(nor->counters().refused, 1u);
  EXPECT_FALSE(nor->IsProgrammed(w()));  // nothing of the refused write was stored
}

TEST_P(NorFlashModelRules, RefusesWritingTheSameValueAgain) {
  OwnedNorFlash nor(geometry());
  const std::vector<uint8_t> data = Pattern(w());
  ASSERT_TRUE(nor->Write(0, data).ok());
  ExpectError(nor->Write(0, data), FlashErrc::kNotErased, FlashOp::kWrite, 0);
}

TEST_P(NorFlashModelRules, RefusesWriteThatWouldOnlyClearBits) {
  OwnedNorFlash nor(geometry());
  const std::vector<uint8_t> data(w(), 0xF0);
  ASSERT_TRUE(nor->Write(0, data).ok());
  const std::vector<uint8_t> fewer_bits(w(), erased() == 0xFF ? 0x00 : 0xFF);
  ExpectError(nor->Write(0, fewer_bits), FlashErrc::kNotErased, FlashOp::kWrite, 0);
  EXPECT_EQ(nor.contents()[0], 0xF0);
}

TEST_P(NorFlashModelRules, WritingTheErasedValueStillCountsAsWritten) {
  OwnedNorFlash nor(geometry());
  const std::vector<uint8_t> blank(w(), erased());
  ASSERT_TRUE(nor->Write(0, blank).ok());
  EXPECT_TRUE(nor->IsProgrammed(0));
  ExpectError(nor->Write(0, Pattern(w())), FlashErrc::kNotErased, FlashOp::kWrite, 0);
}

TEST_P(NorFlashModelRules, EraseMakesBytesWritableAgain) {
  OwnedNorFlash nor(geometry());
  const std::vector<uint8_t> data = Pattern(64);
  ASSERT_TRUE(nor->Write(0, data).ok());
  ASSERT_TRUE(nor->Erase(0, 64).ok());
  for (uint32_t i = 0; i < 64; ++i) ASSERT_EQ(nor.contents()[i], erased());
  EXPECT_FALSE(nor->IsProgrammed(0));
  const std::vector<uint8_t> again = Pattern(64, 7);
  ASSERT_TRUE(nor->Write(0, again).ok());
  std::vector<uint8_t> out(64);
  ASSERT_TRUE(nor->Read(0, out).ok());
  EXPECT_EQ(out, again);
}

TEST_P(NorFlashModelRules, InitialStateComesFromTheBacking) {
  testing::OwnedRamFlash ram(geometry());
  const std::vector<uint8_t> image = Pattern(4 * w());
  ASSERT_TRUE(ram.device().Write(64, image).ok());
  std::vector<uint8_t> bitmap(NorFlashModel::BitmapBytes(geometry()));
  NorFlashModel nor(ram.device(), bitmap);
  EXPECT_TRUE(nor.IsProgrammed(64));
  EXPECT_TRUE(nor.IsProgrammed(64 + 4 * w() - 1));
  EXPECT_FALSE(nor.IsProgrammed(63));
  EXPECT_FALSE(nor.IsProgrammed(64 + 4 * w()));
  ExpectError(nor.Write(64, Pattern(w())), FlashErrc::kNotErased, FlashOp::kWrite, 64);
  EXPECT_TRUE(nor.Write(64 + 4 * w(), Pattern(w())).ok());
}

TEST_P(NorFlashModelRules, RefusesAndCountsMisalignedWritesAndErases) {
  OwnedNorFlash nor(geometry());
  if (w() > 1) {
    ExpectError(nor->Write(1, Pattern(w())), FlashErrc::kMisaligned, FlashOp::kWrite, 1);
    ExpectError(nor->Write(0, Pattern(w() + 1)), FlashErrc::kMisaligned, FlashOp::kWrite, 0);
  }
  ExpectError(nor->Erase(0, 32), FlashErrc::kNotSectorAligned, FlashOp::kErase, 0);
  ExpectError(nor->Erase(256, 64), FlashErrc::kNotSectorAligned, FlashOp::kErase, 256);
  EXPECT_EQ(nor->counters().refused, w() > 1 ? 4u : 2u);
  EXPECT_EQ(nor->operations(), 0u);  // refused by the checks: never reached the model
  for (uint8_t b : nor.contents()) ASSERT_EQ(b, erased());
}

INSTANTIATE_TEST_SUITE_P(
    Geometries, NorFlashModelRules,
    ::testing::Combine(::testing::Values(1u, 2u, 4u, 8u, 16u, 32u),
                       ::testing::Values(uint8_t{0xFF}, uint8_t{0x00})),
    [](const ::testing::TestParamInfo<NorFlashModelRules::ParamType>& param_info) {
      return testing::GeometryName(std::get<0>(param_info.param), std::get<1>(param_info.param));
    });

TEST(NorFlashModel, CountsOperationsExactly) {
  OwnedNorFlash nor(testing::Mixed(4));
  std::vector<uint8_t> out(16);
  ASSERT_TRUE(nor->Read(0, out).ok());
  ASSERT_TRUE(nor->Write(0, Pattern(16)).ok());
  ASSERT_TRUE(nor->Write(16, Pattern(8)).ok());
  ASSERT_FALSE(nor->Write(0, Pattern(4)).ok());  // refused, but a call that reached the chip
  ASSERT_TRUE(nor->Erase(0, 128).ok());
  ASSERT_TRUE(nor->Read(4, out).ok());
  ASSERT_TRUE(nor->Read(4, {}).ok());            // zero length: not a call
  ASSERT_FALSE(nor->Write(2, Pattern(4)).ok());  // misaligned: refused before the chip
  const NorFlashCounters& c = nor->counters();
  EXPECT_EQ(c.reads, 2u);
  EXPECT_EQ(c.writes, 3u);
  EXPECT_EQ(c.erases, 1u);
  EXPECT_EQ(c.bytes_written, 24u);
  EXPECT_EQ(c.refused, 2u);
  EXPECT_EQ(c.power_lost, 0u);
  EXPECT_EQ(nor->operations(), 4u);
  nor->ResetCounters();
  EXPECT_EQ(nor->operations(), 0u);
  EXPECT_EQ(nor->counters().reads, 0u);
  EXPECT_EQ(nor->counters().refused, 0u);
  EXPECT_EQ(nor->max_erase_count(), 0u);
}

TEST(NorFlashModel, CountsErasesPerSector) {
  OwnedNorFlash nor(testing::Mixed());
  ASSERT_TRUE(nor->Erase(0, 64).ok());
  ASSERT_TRUE(nor->Erase(0, 64).ok());
  ASSERT_TRUE(nor->Erase(192, 64 + 256 + 512).ok());  // sectors 3, 4, 5 in one call
  ASSERT_TRUE(nor->Erase(0, 1536).ok());              // all 7
  const uint32_t expected[] = {3, 1, 1, 2, 2, 2, 1};
  for (uint32_t i = 0; i < 7; ++i) EXPECT_EQ(nor->erase_count(i), expected[i]) << i;
  EXPECT_EQ(nor->erase_count(7), 0u);
  EXPECT_EQ(nor->max_erase_count(), 3u);
  EXPECT_EQ(nor->counters().erases, 4u);
}

TEST(NorFlashModel, KeepsNoEraseCountsWithoutASpan) {
  testing::OwnedRamFlash ram(testing::Uniform());
  std::vector<uint8_t> bitmap(NorFlashModel::BitmapBytes(testing::Uniform()));
  NorFlashModel nor(ram.device(), bitmap);
  ASSERT_TRUE(nor.Erase(0, 256).ok());
  EXPECT_EQ(nor.erase_count(0), 0u);
  EXPECT_EQ(nor.counters().erases, 1u);
}

TEST(NorFlashModel, ResyncFromBackingSeesDirectChanges) {
  OwnedNorFlash nor(testing::Uniform());
  ASSERT_TRUE(nor.ram().Write(300, Pattern(4)).ok());  // behind the model's back
  EXPECT_FALSE(nor->IsProgrammed(300));
  ASSERT_TRUE(nor->ResyncFromBacking().ok());
  EXPECT_TRUE(nor->IsProgrammed(300));
  EXPECT_TRUE(nor->IsProgrammed(303));
  EXPECT_FALSE(nor->IsProgrammed(304));
}

TEST(NorFlashModel, BitmapHasOneBitPerByte) {
  EXPECT_EQ(NorFlashModel::BitmapBytes(testing::Uniform()), 2048u / 8);
  static constexpr std::array<SectorRun, 1> kOdd{{{3, 3}}};
  EXPECT_EQ(NorFlashModel::BitmapBytes(FlashGeometry{kOdd, 1, 0xFF}), 2u);
}

TEST(NorFlashModelDeathTest, TooSmallBitmapTraps) {
  testing::OwnedRamFlash ram(testing::Uniform());
  std::vector<uint8_t> bitmap(NorFlashModel::BitmapBytes(testing::Uniform()) - 1);
  EXPECT_DEATH({ NorFlashModel nor(ram.device(), bitmap); }, "");
}

}  // namespace
}  // namespace mqota::flash
