#include "mqota/boot/trailer.h"

#include <gtest/gtest.h>

#include "boot_test_flash.h"

namespace mqota::boot {
namespace {

using testing::SlotFlash;

struct Case {
  uint32_t write_size;
  uint32_t max_align;
  uint8_t erased;
};

std::string Name(const ::testing::TestParamInfo<Case>& info) {
  // Appended, not `"W" + std::to_string(...)`: GCC 12 at -O3 reports a false
  // -Wrestrict in that operator+ (GCC bug 105651), which -Werror makes fatal.
  std::string name = "W";
  name += std::to_string(info.param.write_size) + "_M" + std::to_string(info.param.max_align);
  name += info.param.erased == 0xff ? "_FF" : "_00";
  return name;
}

class TrailerTest : public ::testing::TestWithParam<Case> {
 protected:
  SlotFlash slot_{GetParam().write_size, GetParam().erased};
  Trailer trailer_ = slot_.MakeTrailer(GetParam().max_align);
  uint32_t end() const { return slot_.area.size_bytes(); }
  uint8_t erased() const { return GetParam().erased; }
  std::span<const uint8_t> bytes() const { return slot_.chip.contents(); }
};

TEST_P(TrailerTest, ErasedTrailerReadsAllUnset) {
  ASSERT_TRUE(trailer_.IsUsable());
  auto state = trailer_.Read();
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(state->magic, MagicState::kUnset);
  EXPECT_EQ(state->image_ok, FlagState::kUnset);
  EXPECT_EQ(state->copy_done, FlagState::kUnset);
  EXPECT_EQ(state->swap_type, SwapType::kNone);
  EXPECT_FALSE(state->swap_size.has_value());
}

TEST_P(TrailerTest, FieldsLandAtMcubootOffsetsPaddedWithTheErasedValue) {
  const TrailerGeometry& g = trailer_.geometry();
  ASSERT_TRUE(trailer_.WriteSwapSize(0x00012345).ok());
  ASSERT_TRUE(trailer_.WriteSwapInfo(SwapType::kPerm, 1).ok());
  ASSERT_TRUE(trailer_.WriteCopyDone().ok());
  ASSERT_TRUE(trailer_.WriteImageOk().ok());
  ASSERT_TRUE(trailer_.WriteMagic().ok());
  const auto b = bytes();
  const auto magic = BootMagic(GetParam().max_align);
  EXPECT_TRUE(std::equal(magic.begin(), magic.end(), b.end() - 16));
  EXPECT_EQ(b[end() - g.image_ok_from_end()], 0x01);
  EXPECT_EQ(b[end() - g.copy_done_from_end()], 0x01);
  EXPECT_EQ(b[end() - g.swap_info_from_end()], 0x13);
  EXPECT_EQ(b[end() - g.swap_size_from_end() + 0], 0x45);
  EXPECT_EQ(b[end() - g.swap_size_from_end() + 3], 0x00);
  // Every other trailer byte is still erased: nothing was written around the fields.
  size_t non_erased = 0;
  for (uint32_t i = trailer_.offset_bytes(); i < end(); ++i) non_erased += b[i] != erased();
  const uint8_t fields[] = {0x01, 0x01, 0x13, 0x45, 0x23, 0x01, 0x00};
  size_t expected = 0;
  for (uint8_t v : fields) expected += v != erased();
  for (uint8_t v : magic) expected += v != erased();
  EXPECT_EQ(non_erased, expected);
  EXPECT_EQ(slot_.chip->counters().writes, 5u);  // one write per field

  auto state = trailer_.Read();
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(state->magic, MagicState::kGood);
  EXPECT_EQ(state->image_ok, FlagState::kSet);
  EXPECT_EQ(state->copy_done, FlagState::kSet);
  EXPECT_EQ(state->swap_type, SwapType::kPerm);
  EXPECT_EQ(state->image_index, 1);
  EXPECT_EQ(state->swap_size, 0x00012345u);
}

TEST_P(TrailerTest, StatusEntriesAreOneWriteUnitEach) {
  for (uint32_t i = 0; i < 6; ++i) ASSERT_TRUE(trailer_.WriteStatusEntry(i, 1 + i % 3).ok());
  for (uint32_t i = 0; i < 6; ++i) {
    auto entry = trailer_.ReadStatusEntry(i);
    ASSERT_TRUE(entry.ok());
    EXPECT_EQ(*entry, std::optional<uint8_t>(1 + i % 3));
    EXPECT_EQ(bytes()[trailer_.offset_bytes() + i * GetParam().write_size], 1 + i % 3);
  }
  auto next = trailer_.ReadStatusEntry(6);
  ASSERT_TRUE(next.ok());
  EXPECT_FALSE(next->has_value());
  EXPECT_EQ(trailer_.offset_bytes(),
            end() - (128 * 3 * GetParam().write_size + 4 * GetParam().max_align +
                     AlignUp(16, GetParam().max_align)));
}

TEST_P(TrailerTest, CorruptMagicAndFlagsDecodeAsBad) {
  ASSERT_TRUE(trailer_.WriteMagic().ok());
  // Corrupt through the RAM below the model, as a torn write would.
  const uint32_t w = GetParam().write_size;
  const TrailerGeometry& g = trailer_.geometry();
  auto& ram = slot_.chip.ram();
  std::vector<uint8_t> tail(bytes().end() - w, bytes().end());
  tail.back() ^= 0x40;
  ASSERT_TRUE(ram.Write(end() - w, tail).ok());
  std::vector<uint8_t> flag(w, erased());
  flag[0] = 0x02;
  ASSERT_TRUE(ram.Write(end() - g.image_ok_from_end(), flag).ok());
  flag[0] = 0x81;
  ASSERT_TRUE(ram.Write(end() - g.swap_info_from_end(), flag).ok());
  auto state = trailer_.Read();
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(state->magic, MagicState::kBad);
  EXPECT_EQ(state->image_ok, FlagState::kBad);
  EXPECT_EQ(state->copy_done, FlagState::kUnset);
  EXPECT_EQ(state->swap_type, SwapType::kNone);  // type 1 is not a request
}

TEST_P(TrailerTest, EraseSectorsClearsTheTrailerFromTheEnd) {
  ASSERT_TRUE(trailer_.WriteMagic().ok());
  ASSERT_TRUE(trailer_.WriteStatusEntry(0, 1).ok());
  slot_.chip->ResetCounters();
  ASSERT_TRUE(trailer_.EraseSectors().ok());
  auto state = trailer_.Read();
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(state->magic, MagicState::kUnset);
  auto entry = trailer_.ReadStatusEntry(0);
  ASSERT_TRUE(entry.ok());
  EXPECT_FALSE(entry->has_value());
  // 3120..3184 bytes of trailer fit one 4 KiB sector except with W >= 16.
  const uint32_t sectors = (trailer_.geometry().trailer_bytes() + 4095) / 4096;
  EXPECT_EQ(slot_.chip->counters().erases, sectors);
}

TEST_P(TrailerTest, EraseSectorsCutAfterTheFirstEraseLeavesNoMagic) {
  SlotFlash big(GetParam().write_size, GetParam().erased, 64, 256);  // trailer spans sectors
  Trailer t = big.MakeTrailer(GetParam().max_align, 128);
  ASSERT_TRUE(t.IsUsable());
  ASSERT_TRUE(t.WriteStatusEntry(0, 1).ok());
  ASSERT_TRUE(t.WriteMagic().ok());
  big.chip->CutPowerAfter(1);
  EXPECT_FALSE(t.EraseSectors().ok());
  big.chip->PowerOn();
  auto state = t.Read();
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(state->magic, MagicState::kUnset);  // the last sector went first
  auto entry = t.ReadStatusEntry(0);
  ASSERT_TRUE(entry.ok());
  EXPECT_TRUE(entry->has_value());  // the status sector was not reached
}

INSTANTIATE_TEST_SUITE_P(Geometries, TrailerTest,
                         ::testing::Values(Case{1, 8, 0xff}, Case{2, 8, 0xff}, Case{4, 8, 0xff},
                                           Case{8, 8, 0xff}, Case{8, 8, 0x00}, Case{1, 8, 0x00},
                                           Case{8, 16, 0xff}, Case{16, 16, 0xff},
                                           Case{32, 32, 0x00}),
                         Name);

TEST(Trailer, RefusesGeometriesThatDoNotFitTheArea) {
  SlotFlash slot(8, 0xff, 1, 2048);
  EXPECT_FALSE(slot.MakeTrailer(8, 128).IsUsable());  // 3120 bytes > 2048
  EXPECT_TRUE(slot.MakeTrailer(8, 64).IsUsable());
  EXPECT_FALSE(Trailer(slot.area, TrailerGeometry{4, 8, 64}).IsUsable());  // W != device's
  EXPECT_FALSE(Trailer(slot.area, TrailerGeometry{8, 4, 64}).IsUsable());  // M < 8
}

}  // namespace
}  // namespace mqota::boot
