// NorFlashModel's power cuts: where they fall, what fails afterwards, and what
// torn writes and erases leave behind.
#include <gtest/gtest.h>

#include <tuple>
#include <vector>

#include "mqota/flash/nor_flash_model.h"
#include "mqota/testing/test_flash.h"

namespace mqota::flash {
namespace {

using testing::OwnedNorFlash;
using testing::Pattern;
using Bytes = std::vector<uint8_t>;

Bytes Contents(OwnedNorFlash& nor) { return Bytes(nor.contents().begin(), nor.contents().end()); }

struct Op {
  enum Kind { kWrite, kErase } kind;
  uint32_t offset;
  uint32_t size_bytes;
};

// A fixed scenario on testing::Mixed (64 ×4, 256, 512 ×2) for every W ≤ 32:
// writes, single- and multi-sector erases, and one refused write-over-written.
const Op kScenario[] = {
    {Op::kWrite, 0, 128},    {Op::kWrite, 256, 64},  {Op::kErase, 0, 64},
    {Op::kWrite, 512, 1024}, {Op::kWrite, 32, 32},   {Op::kWrite, 0, 32},
    {Op::kErase, 256, 256},  {Op::kWrite, 512, 32},  // refused: written by op 4
    {Op::kErase, 512, 1024}, {Op::kWrite, 1024, 64}, {Op::kWrite, 384, 128},
};
constexpr uint32_t kScenarioOps = sizeof(kScenario) / sizeof(kScenario[0]);

// Runs ops [0, count) of the scenario, ignoring results (as code that keeps
// going after a failure would).
void RunScenario(NorFlashModel& nor, uint32_t count = kScenarioOps) {
  for (uint32_t i = 0; i < count; ++i) {
    const Op& op = kScenario[i];
    if (op.kind == Op::kWrite) {
      (void)nor.Write(op.offset, Pattern(op.size_bytes, static_cast<uint8_t>(i + 1)));
    } else {
      (void)nor.Erase(op.offset, op.size_bytes);
    }
  }
}

class NorFlashModelPower : public ::testing::TestWithParam<std::tuple<uint32_t, uint8_t>> {
 protected:
  FlashGeometry geometry() const {
    return testing::Mixed(std::get<0>(GetParam()), std::get<1>(GetParam()));
  }
};

TEST_P(NorFlashModelPower, CutPowerAfterNStopsExactlyAtOperationNPlusOne) {
  for (uint32_t n = 0; n <= kScenarioOps; ++n) {
    SCOPED_TRACE("cut after " + std::to_string(n) + " operations");
    OwnedNorFlash expected(geometry());
    RunScenario(expected.model(), n);

    OwnedNorFlash nor(geometry());
    nor->CutPowerAfter(n);
    RunScenario(nor.model());
    EXPECT_EQ(Contents(nor), Contents(expected));
    const bool cut = n < kScenarioOps;
    EXPECT_EQ(nor->powered(), !cut);
    EXPECT_EQ(nor->operations(), cut ? n + 1 : kScenarioOps);
    EXPECT_EQ(nor->counters().power_lost, cut ? kScenarioOps - n : 0u);
    for (uint32_t i = 0; i < geometry().size_bytes(); ++i) {
      ASSERT_EQ(nor->IsProgrammed(i), expected->IsProgrammed(i)) << "byte " << i;
    }
  }
}

TEST_P(NorFlashModelPower, RedoingTheCutOperationAfterPowerOnReachesTheCleanEndState) {
  OwnedNorFlash clean(geometry());
  RunScenario(clean.model());
  for (uint32_t n = 0; n < kScenarioOps; ++n) {
    SCOPED_TRACE("cut after " + std::to_string(n) + " operations");
    OwnedNorFlash nor(geometry());
    nor->CutPowerAfter(n);
    RunScenario(nor.model(), n + 1);
    ASSERT_FALSE(nor->powered());
    nor->PowerOn();
    // With TearMode::kNone the cut operation never happened: redoing it and
    // the rest must give the flash of an uninterrupted run.
    for (uint32_t i = n; i < kScenarioOps; ++i) {
      const Op& op = kScenario[i];
      if (op.kind == Op::kWrite) {
        (void)nor->Write(op.offset, Pattern(op.size_bytes, static_cast<uint8_t>(i + 1)));
      } else {
        (void)nor->Erase(op.offset, op.size_bytes);
      }
    }
    EXPECT_EQ(Contents(nor), Contents(clean));
    EXPECT_EQ(nor->operations(), kScenarioOps + 1);  // counters keep counting across PowerOn
  }
}

INSTANTIATE_TEST_SUITE_P(
    Geometries, NorFlashModelPower,
    ::testing::Combine(::testing::Values(1u, 2u, 4u, 8u, 16u, 32u),
                       ::testing::Values(uint8_t{0xFF}, uint8_t{0x00})),
    [](const ::testing::TestParamInfo<NorFlashModelPower::ParamType>& param_info) {
      return testing::GeometryName(std::get<0>(param_info.param), std::get<1>(param_info.param));
    });

TEST(NorFlashModel, EveryCallFailsAfterTheCutReadsIncluded) {
  OwnedNorFlash nor(testing::Uniform());
  ASSERT_TRUE(nor->Write(0, Pattern(8)).ok());
  nor->CutPowerAfter(1);
  std::vector<uint8_t> out(8);
  ASSERT_TRUE(nor->Read(0, out).ok());  // reads do not count towards the cut
  ASSERT_TRUE(nor->Write(8, Pattern(8)).ok());
  const FlashStatus cut = nor->Erase(0, 256);
  ASSERT_FALSE(cut.ok());
  EXPECT_EQ(cut.error().code, FlashErrc::kPowerLost);
  EXPECT_EQ(cut.error().op, FlashOp::kErase);
  const Bytes after_cut = Contents(nor);
  EXPECT_EQ(after_cut[0], Pattern(8)[0]);  // kNone: the cut erase did not happen
  const FlashStatus read = nor->Read(0, out);
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.error().code, FlashErrc::kPowerLost);
  EXPECT_EQ(read.error().op, FlashOp::kRead);
  EXPECT_EQ(nor->Write(64, Pattern(8)).error().code, FlashErrc::kPowerLost);
  EXPECT_EQ(nor->Erase(256, 256).error().code, FlashErrc::kPowerLost);
  EXPECT_EQ(Contents(nor), after_cut);
  EXPECT_EQ(nor->counters().power_lost, 4u);
  EXPECT_EQ(nor->operations(), 3u);  // calls while the power is off are not operations
}

TEST(NorFlashModel, PowerOnRestoresAndTheCutFiresOnlyOnce) {
  OwnedNorFlash nor(testing::Uniform());
  nor->CutPowerAfter(0);
  EXPECT_TRUE(nor->power_cut_armed());
  EXPECT_EQ(nor->Write(0, Pattern(8)).error().code, FlashErrc::kPowerLost);
  EXPECT_FALSE(nor->power_cut_armed());
  nor->PowerOn();
  std::vector<uint8_t> out(8);
  ASSERT_TRUE(nor->Read(0, out).ok());
  EXPECT_EQ(out, Bytes(8, 0xFF));
  for (int i = 0; i < 8; ++i) ASSERT_TRUE(nor->Write(8 * i, Pattern(8)).ok());
  EXPECT_EQ(nor->operations(), 9u);
  nor->CutPowerAfter(2);
  nor->CancelPowerCut();
  ASSERT_TRUE(nor->Erase(0, 256).ok());
  ASSERT_TRUE(nor->Erase(0, 256).ok());
  ASSERT_TRUE(nor->Erase(0, 256).ok());
}

TEST(NorFlashModel, CutOnARefusedWriteStoresNothing) {
  OwnedNorFlash nor(testing::Uniform());
  ASSERT_TRUE(nor->Write(0, Pattern(8)).ok());
  const Bytes before = Contents(nor);
  nor->CutPowerAfter(0, TearMode::kRandom, 1);
  EXPECT_EQ(nor->Write(0, Pattern(8, 9)).error().code, FlashErrc::kPowerLost);
  EXPECT_EQ(Contents(nor), before);
  EXPECT_EQ(nor->counters().refused, 1u);
}

// Runs one torn operation on a device whose second sector holds `old`, and
// returns the flash afterwards.
struct TornResult {
  Bytes contents;
  std::vector<bool> programmed;
  uint32_t erase_count;
};

TornResult Torn(Op::Kind kind, TearMode mode, uint64_t seed, uint32_t w = 4) {
  OwnedNorFlash nor(testing::Uniform(w));
  EXPECT_TRUE(nor->Write(256, Pattern(256, 3)).ok());
  nor->CutPowerAfter(0, mode, seed);
  const FlashStatus status =
      kind == Op::kWrite ? nor->Write(512, Pattern(256, 5)) : nor->Erase(256, 256);
  EXPECT_EQ(status.error().code, FlashErrc::kPowerLost);
  nor->PowerOn();
  TornResult r{Contents(nor), {}, nor->erase_count(1)};
  for (uint32_t i = 0; i < 2048; ++i) r.programmed.push_back(nor->IsProgrammed(i));
  return r;
}

// Length of the common prefix of `bytes[from, from + size)` and `expected`.
uint32_t PrefixLength(const Bytes& bytes, uint32_t from, const Bytes& expected) {
  uint32_t n = 0;
  while (n < expected.size() && bytes[from + n] == expected[n]) ++n;
  return n;
}

TEST(NorFlashModel, TornPrefixWriteStoresAPrefixAndLeavesTheRestErased) {
  const Bytes data = Pattern(256, 5);
  bool saw_partial = false;
  for (uint64_t seed = 0; seed < 20; ++seed) {
    for (uint32_t w : {1u, 4u, 32u}) {
      const TornResult r = Torn(Op::kWrite, TearMode::kPrefix, seed, w);
      const uint32_t stored = PrefixLength(r.contents, 512, data);
      saw_partial |= stored > 0 && stored < 256;
      for (uint32_t i = stored; i < 256; ++i) ASSERT_EQ(r.contents[512 + i], 0xFF) << i;
      for (uint32_t i = 0; i < 256; ++i) ASSERT_EQ(r.programmed[512 + i], i < stored) << i;
      ASSERT_EQ(r.contents[511], Pattern(256, 3)[255]);  // neighbours untouched
      ASSERT_EQ(r.contents[768], 0xFF);
      ASSERT_FALSE(r.programmed[768]);
    }
  }
  EXPECT_TRUE(saw_partial);
}

TEST(NorFlashModel, TornRandomWriteLeavesJunkOverTheWholeRange) {
  const TornResult r = Torn(Op::kWrite, TearMode::kRandom, 42);
  const Bytes data = Pattern(256, 5);
  EXPECT_LT(PrefixLength(r.contents, 512, data), 8u);
  uint32_t distinct_from_erased = 0;
  for (uint32_t i = 512; i < 768; ++i) {
    ASSERT_TRUE(r.programmed[i]) << i;
    distinct_from_erased += r.contents[i] != 0xFF;
  }
  EXPECT_GT(distinct_from_erased, 200u);
  EXPECT_EQ(r.contents[511], Pattern(256, 3)[255]);  // neighbours untouched
  EXPECT_EQ(r.contents[768], 0xFF);
  EXPECT_FALSE(r.programmed[768]);
}

TEST(NorFlashModel, TornPrefixEraseErasesAPrefix) {
  const Bytes old = Pattern(256, 3);
  bool saw_partial = false;
  for (uint64_t seed = 0; seed < 20; ++seed) {
    const TornResult r = Torn(Op::kErase, TearMode::kPrefix, seed);
    uint32_t erased = 0;
    while (erased < 256 && r.contents[256 + erased] == 0xFF) ++erased;
    saw_partial |= erased > 0 && erased < 256;
    for (uint32_t i = erased; i < 256; ++i) ASSERT_EQ(r.contents[256 + i], old[i]) << i;
    for (uint32_t i = 0; i < 256; ++i) ASSERT_EQ(r.programmed[256 + i], i >= erased) << i;
    EXPECT_EQ(r.erase_count, erased > 0 ? 1u : 0u);
  }
  EXPECT_TRUE(saw_partial);
}

TEST(NorFlashModel, TornRandomEraseLeavesAMixOfErasedAndOldBytes) {
  const Bytes old = Pattern(256, 3);
  const TornResult r = Torn(Op::kErase, TearMode::kRandom, 7);
  uint32_t erased = 0;
  for (uint32_t i = 0; i < 256; ++i) {
    const uint8_t b = r.contents[256 + i];
    ASSERT_TRUE(b == 0xFF || b == old[i]) << i;
    erased += b == 0xFF;
    ASSERT_EQ(r.programmed[256 + i], b != 0xFF) << i;
  }
  EXPECT_GT(erased, 64u);
  EXPECT_LT(erased, 192u);
  EXPECT_EQ(r.erase_count, 1u);
}

TEST(NorFlashModel, TornOperationsAreReproducibleBySeed) {
  for (Op::Kind kind : {Op::kWrite, Op::kErase}) {
    for (TearMode mode : {TearMode::kPrefix, TearMode::kRandom}) {
      const TornResult a = Torn(kind, mode, 1234);
      const TornResult b = Torn(kind, mode, 1234);
      EXPECT_EQ(a.contents, b.contents);
      EXPECT_EQ(a.programmed, b.programmed);
      bool any_differs = false;
      for (uint64_t seed = 1; seed < 5; ++seed) {
        any_differs |= Torn(kind, mode, 1234 + seed).contents != a.contents;
      }
      EXPECT_TRUE(any_differs) << "the seed must matter";
    }
  }
}

TEST(NorFlashModel, TearModeNoneChangesNothing) {
  for (Op::Kind kind : {Op::kWrite, Op::kErase}) {
    const TornResult r = Torn(kind, TearMode::kNone, 99);
    OwnedNorFlash reference(testing::Uniform(4));
    ASSERT_TRUE(reference->Write(256, Pattern(256, 3)).ok());
    EXPECT_EQ(r.contents, Contents(reference));
    EXPECT_EQ(r.erase_count, 0u);
  }
}

}  // namespace
}  // namespace mqota::flash
