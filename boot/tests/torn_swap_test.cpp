// Torn operations during swap upgrades (docs/spec/power-loss-testing.md#torn-operations):
// the power cut lands *inside* a flash operation, so a write leaves a prefix
// of its data or random bytes, an erase leaves part of its range erased or a
// random mix (TearMode in nor_flash_model.h). Driven end to end like
// swap_boot_test.cpp (BootRig, ECDSA-signed images), for swap-scratch with a
// one- and a three-sector scratch, for swap-move and for swap-offset: for
// every cut point of a
// clean boot, cut with the tear, power on, boot again, and check invariants
// 1-3 of docs/spec/power-loss-testing.md#invariants-after-a-cut plus "no
// write hit an unerased byte" (a torn write leaves
// its bytes programmed; rewriting the cell is a bug on real NOR flash too).
//
// Tear flavours: kPrefix; kRandom with seeds as they come; and kRandom with,
// at each cut, the first seed whose first random byte is the erased value, so
// that a torn flag or status write reads erased in the byte it is read from
// while the rest of its cell is programmed (the hardest case to notice).
//
// The default run keeps, at every cut of a PERM upgrade on the reference
// geometry for the three swaps, kPrefix and kRandomErasedHead (the one that
// fails when a cell counts as written by its first byte alone: a prefix tear
// never leaves the first byte erased over programmed ones), plus kPrefix with
// an image reaching the slot trailer (swap-scratch's trailer region, for the
// torn erase of its scratch trailer); the whole matrix (every flavour, PERM
// and TEST + REVERT, every layout) is in the *Long* tests.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "boot_rig.h"
#include "mqota/boot/app_api.h"
#include "mqota/boot/swap_move.h"
#include "mqota/boot/swap_offset.h"
#include "mqota/boot/swap_scratch.h"

namespace mqota::boot {
namespace {

using flash::TearMode;
using testing::BootRig;
using testing::RigLayout;

struct Layout {
  const char* name;
  SwapAlgorithm* algorithm;
  RigLayout layout;
  // Images as large as the algorithm allows (the new one) and 0x1234 bytes
  // less (the old one), instead of ~100 KB: swap-scratch's first region then
  // holds the slot trailer and logs in the scratch.
  bool full_slot = false;
};

enum class Tear : uint8_t {
  kPrefix,           // TearMode::kPrefix
  kRandom,           // TearMode::kRandom, seed as it comes
  kRandomErasedHead  // TearMode::kRandom, seed picked so the first byte reads erased
};

struct TornCase {
  Layout layout;
  Tear tear;
};

const char* TearName(Tear tear) {
  switch (tear) {
    case Tear::kPrefix: return "Prefix";
    case Tear::kRandom: return "Random";
    case Tear::kRandomErasedHead: return "RandomErasedHead";
  }
  return "?";
}

void PrintTo(const TornCase& c, std::ostream* os) {
  *os << c.layout.name << " / " << TearName(c.tear);
}

SwapScratch scratch_algorithm;
SwapMove move_algorithm;
SwapOffset offset_algorithm;

Layout ScratchReference(bool full_slot = false) {
  return {full_slot ? "SwapScratchFullSlot" : "SwapScratch", &scratch_algorithm, RigLayout{},
          full_slot};
}
Layout Scratch3Sectors(bool full_slot = false) {
  RigLayout l;
  l.scratch_sectors = 3;  // does not divide the 32-sector slot
  return {full_slot ? "SwapScratch3SectorScratchFullSlot" : "SwapScratch3SectorScratch",
          &scratch_algorithm, l, full_slot};
}
Layout MoveReference(bool full_slot = false) {
  RigLayout l;
  l.primary_sectors = l.secondary_sectors + 1;
  l.scratch_sectors = 0;
  return {full_slot ? "SwapMoveFullSlot" : "SwapMove", &move_algorithm, l, full_slot};
}
// Another write size and the other erased value.
Layout ScratchW4Erased00() {
  RigLayout l;
  l.write_size = 4;
  l.erased = 0x00;
  return {"SwapScratchW4Erased00", &scratch_algorithm, l};
}
Layout MoveW4Erased00() {
  Layout move = MoveReference();
  move.name = "SwapMoveW4Erased00";
  move.layout.write_size = 4;
  move.layout.erased = 0x00;
  return move;
}

Layout OffsetReference(bool full_slot = false) {
  RigLayout l;
  l.secondary_sectors = l.primary_sectors + 1;
  l.scratch_sectors = 0;
  return {full_slot ? "SwapOffsetFullSlot" : "SwapOffset", &offset_algorithm, l, full_slot};
}
Layout OffsetW4Erased00() {
  Layout offset = OffsetReference();
  offset.name = "SwapOffsetW4Erased00";
  offset.layout.write_size = 4;
  offset.layout.erased = 0x00;
  return offset;
}

std::string CaseName(const ::testing::TestParamInfo<TornCase>& info) {
  return std::string(info.param.layout.name) + "_" + TearName(info.param.tear);
}

// NorFlashModel's generator (splitmix64): the first value a seed yields.
uint64_t FirstRandom(uint64_t seed) {
  uint64_t z = seed + 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

const image::ImageVersion kV1{1, 0, 0, 0};
const image::ImageVersion kV2{1, 1, 0, 0};

// Fixed seeds, one per cut point and boot, so a failure re-runs as printed.
// kRandomErasedHead takes the first seed from there on whose torn write
// starts with the erased value (a kRandom write draws its bytes in order).
uint64_t SeedFor(uint32_t k, uint32_t phase, Tear tear, uint8_t erased) {
  uint64_t seed = (0x70524e00u + uint64_t{k} * 4 + phase) << 16;
  if (tear == Tear::kRandomErasedHead) {
    while (static_cast<uint8_t>(FirstRandom(seed)) != erased) ++seed;
  }
  return seed;
}

// How many failing cut points a test reports before it stops (env
// MQOTA_TORN_MAX_FAILING_CUTS overrides, for a full survey).
uint32_t MaxFailingCuts() {
  const char* env = std::getenv("MQOTA_TORN_MAX_FAILING_CUTS");
  return env ? static_cast<uint32_t>(std::strtoul(env, nullptr, 10)) : 3;
}

int FailureCount() {
  return ::testing::UnitTest::GetInstance()->current_test_info()->result()->total_part_count();
}

class TornSwap : public ::testing::TestWithParam<TornCase> {
 protected:
  std::unique_ptr<BootRig> Fresh(bool permanent) {
    const Layout& l = GetParam().layout;
    auto rig = std::make_unique<BootRig>(l.layout, l.algorithm);
    if (v1_.empty()) {
      if (l.full_slot) {
        const uint32_t max = l.algorithm->MaxImageSize(rig->rig().context());
        v2_ = ImageOfSize(*rig, kV2, max, 2);
        v1_ = ImageOfSize(*rig, kV1, max - 0x1234, 1);
      } else {
        v1_ = rig->MakeImage(kV1, 100000, 1);
        v2_ = rig->MakeImage(kV2, 90000, 2);
      }
    }
    rig->rig().Place(rig->rig().primary(), v1_);
    rig->rig().Place(rig->rig().secondary(), v2_,
                     l.algorithm->SourceOffset(rig->rig().context(), SwapType::kTest));
    EXPECT_TRUE(SetPending(rig->rig().secondary_trailer(), permanent).ok());
    rig->rig().chip().ResetCounters();
    return rig;
  }

  // A signed image of at most `size` bytes, as close to it as the signature's
  // varying length allows (the signer throws when an image overflows).
  static std::vector<uint8_t> ImageOfSize(const BootRig& rig, image::ImageVersion version,
                                          uint32_t size, uint32_t seed) {
    const uint32_t overhead =
        static_cast<uint32_t>(rig.MakeImage(version, 1000, seed).size()) - 1000;
    for (uint32_t slack = 0; slack < 64; ++slack) {
      try {
        auto image = rig.MakeImage(version, size - overhead - slack, seed);
        if (image.size() <= size) return image;
      } catch (const std::exception&) {
        // Too large by a byte or two of signature: try a smaller payload.
      }
    }
    ADD_FAILURE() << "no image of " << size << " bytes";
    return {};
  }

  static uint64_t Seed(uint32_t k, uint32_t phase) {
    return SeedFor(k, phase, GetParam().tear, GetParam().layout.layout.erased);
  }

  // Operations of a clean boot of the scenario (the cut points to try).
  uint32_t CleanOps(bool permanent) {
    auto rig = Fresh(permanent);
    auto clean = rig->Boot();
    EXPECT_TRUE(clean.ok());
    return rig->rig().chip().operations();
  }

  // What the cut boot left: the torn operation, and whether the swap had
  // already finished, its last write (copy_done) landing whole or torn into
  // the SET value. A finished TEST (`trial_used_up`) is then reverted by the
  // next boot, as after any reset before the application confirms (row 3 of
  // docs/spec/mcuboot-trailer.md#swap-type-decision); a finished REVERT or
  // PERM leaves the next boot nothing to do.
  struct CutInfo {
    std::string torn_op;
    bool trial_used_up = false;
    bool confirmed_swap_finished = false;
  };

  // Cuts the first boot after `k` operations with the case's tear, then boots
  // until a boot completes (a few attempts). Returns the last boot's result.
  static BootResult<BootOutcome> BootWithTornCut(BootRig& rig, uint32_t k, uint64_t seed,
                                                 CutInfo& info) {
    auto& chip = rig.rig().chip();
    const Tear tear = GetParam().tear;
    chip.CutPowerAfter(k, tear == Tear::kPrefix ? TearMode::kPrefix : TearMode::kRandom, seed);
    auto result = rig.Boot();
    chip.CancelPowerCut();
    chip.PowerOn();
    info = CutInfo{};
    if (result.ok()) {
      info.torn_op = "none (beyond the last operation)";
      return result;
    }
    const flash::FlashError& cut = result.error().flash;
    info.torn_op = std::string(flash::Describe(cut.op)) + " at area offset 0x" + Hex(cut.offset);
    auto state = ReadSwapState(rig.rig().primary_trailer(), rig.rig().secondary_trailer());
    if (state.ok()) {
      info.trial_used_up = state->running_unconfirmed;
      info.confirmed_swap_finished = state->primary.magic == MagicState::kGood &&
                                     state->primary.image_ok == FlagState::kSet &&
                                     state->primary.copy_done == FlagState::kSet;
    }
    for (int attempt = 0; attempt < 3; ++attempt) {
      result = rig.Boot();
      if (result.ok()) break;
    }
    return result;
  }

  static std::string Hex(uint32_t value) {
    char text[16];
    std::snprintf(text, sizeof(text), "%x", value);
    return text;
  }

  static void ExpectBooted(const BootResult<BootOutcome>& result, image::ImageVersion version,
                           bool confirmed) {
    ASSERT_TRUE(result.ok()) << "boot failed: " << Describe(result.error().code) << " ("
                             << flash::Describe(result.error().flash.code) << " "
                             << flash::Describe(result.error().flash.op) << " at 0x"
                             << Hex(result.error().flash.offset) << ")";
    EXPECT_EQ(result->layout.header.version, version);
    EXPECT_EQ(result->confirmed, confirmed);
  }

  // Invariant 1: the booted image, and the other slot, byte for byte (where
  // the algorithm leaves the image a swap of `swap` moved out).
  static void ExpectSlots(BootRig& rig, const std::vector<uint8_t>& primary,
                          const std::vector<uint8_t>& secondary, SwapType swap) {
    EXPECT_TRUE(rig.rig().Read(rig.rig().primary(), primary.size()) == primary)
        << "primary does not hold the expected image";
    const uint32_t at = GetParam().layout.algorithm->MovedOutOffset(rig.rig().context(), swap);
    EXPECT_TRUE(rig.rig().Read(rig.rig().secondary(), secondary.size(), at) == secondary)
        << "secondary does not hold the other image";
  }

  // Invariant 4 (the model's write-once rule) over every boot so far.
  static void ExpectNoRefusal(BootRig& rig) {
    EXPECT_EQ(rig.rig().chip().counters().refused, 0u) << "a write hit an unerased byte";
  }

  // Invariant 3 for a confirmed end state: one more boot changes nothing.
  static void ExpectStable(BootRig& rig) {
    rig.rig().chip().ResetCounters();
    auto again = rig.Boot();
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(again->swap, SwapType::kNone);
    EXPECT_EQ(rig.rig().chip().operations(), 0u);
  }

  // Stops a test after MaxFailingCuts() failing cut points.
  bool TooManyFailures(int failures_before, uint32_t& failing_cuts) {
    if (FailureCount() == failures_before) return false;
    return ++failing_cuts >= MaxFailingCuts();
  }

  // A PERM upgrade cut (torn) at every operation.
  void PermAtEveryCut() {
    const uint32_t total = CleanOps(true);
    ASSERT_GT(total, 0u);
    uint32_t failing_cuts = 0;
    for (uint32_t k = 0; k < total; ++k) {
      const int before = FailureCount();
      const uint64_t seed = Seed(k, 0);
      auto rig = Fresh(true);
      CutInfo info;
      auto outcome = BootWithTornCut(*rig, k, seed, info);
      SCOPED_TRACE(std::string(GetParam().layout.name) + " PERM, tear " +
                   TearName(GetParam().tear) + ", cut after " + std::to_string(k) + " of " +
                   std::to_string(total) + ", seed " + std::to_string(seed) +
                   ", torn: " + info.torn_op);
      [&] {
        ExpectBooted(outcome, kV2, true);
        if (outcome.ok()) {
          EXPECT_EQ(outcome->swap,
                    info.confirmed_swap_finished ? SwapType::kNone : SwapType::kPerm);
        }
        ExpectSlots(*rig, v2_, v1_, SwapType::kPerm);
        rig->rig().ExpectEndState(SwapType::kPerm);
        ExpectNoRefusal(*rig);
        ExpectStable(*rig);
      }();
      if (TooManyFailures(before, failing_cuts)) return;
    }
  }

  // Operations of a clean TEST upgrade and of its clean revert.
  std::pair<uint32_t, uint32_t> CleanTestAndRevertOps() {
    auto rig = Fresh(false);
    EXPECT_TRUE(rig->Boot().ok());
    const uint32_t test = rig->rig().chip().operations();
    rig->rig().chip().ResetCounters();
    EXPECT_TRUE(rig->Boot().ok());
    return {test, rig->rig().chip().operations()};
  }

  // A TEST upgrade cut (torn) at every operation, then its revert cut at the
  // same operation; after the revert a further boot changes nothing.
  void TestAndRevertAtEveryCut() {
    const auto [test_total, revert_total] = CleanTestAndRevertOps();
    ASSERT_GT(test_total, 0u);
    const uint32_t total = std::max(test_total, revert_total);
    uint32_t failing_cuts = 0;
    for (uint32_t k = 0; k < total; ++k) {
      const int before = FailureCount();
      const uint64_t seed = Seed(k, 1);
      const uint64_t revert_seed = Seed(k, 2);
      auto rig = Fresh(false);
      CutInfo info;
      auto upgraded = BootWithTornCut(*rig, k, seed, info);
      const std::string where = std::string(GetParam().layout.name) + ", tear " +
                                TearName(GetParam().tear) + ", cut after " + std::to_string(k) +
                                " of " + std::to_string(test_total) + "/" +
                                std::to_string(revert_total);
      if (info.trial_used_up) {
        // The swap had finished: the boot after the cut was the revert.
        SCOPED_TRACE(where + ": TEST finished before the cut, seed " + std::to_string(seed) +
                     ", torn: " + info.torn_op);
        [&] {
          ExpectBooted(upgraded, kV1, true);
          if (upgraded.ok()) {
            EXPECT_EQ(upgraded->swap, SwapType::kRevert);
          }
          ExpectSlots(*rig, v1_, v2_, SwapType::kRevert);
          rig->rig().ExpectEndState(SwapType::kRevert);
          ExpectNoRefusal(*rig);
          ExpectStable(*rig);
        }();
        if (TooManyFailures(before, failing_cuts)) return;
        continue;
      }
      [&] {
        SCOPED_TRACE(where + ": TEST, seed " + std::to_string(seed) + ", torn: " + info.torn_op);
        ExpectBooted(upgraded, kV2, false);
        if (upgraded.ok()) {
          EXPECT_EQ(upgraded->swap, SwapType::kTest);
        }
        ExpectSlots(*rig, v2_, v1_, SwapType::kTest);
        rig->rig().ExpectEndState(SwapType::kTest);
        ExpectNoRefusal(*rig);
      }();
      if (FailureCount() == before) {
        // Invariant 3 for TEST: the next boot is the revert (cut as well).
        rig->rig().chip().ResetCounters();
        auto reverted = BootWithTornCut(*rig, k, revert_seed, info);
        SCOPED_TRACE(where + ": REVERT, seed " + std::to_string(revert_seed) +
                     ", torn: " + info.torn_op);
        [&] {
          ExpectBooted(reverted, kV1, true);
          if (reverted.ok()) {
            EXPECT_EQ(reverted->swap,
                      info.confirmed_swap_finished ? SwapType::kNone : SwapType::kRevert);
          }
          ExpectSlots(*rig, v1_, v2_, SwapType::kRevert);
          rig->rig().ExpectEndState(SwapType::kRevert);
          ExpectNoRefusal(*rig);
          ExpectStable(*rig);
        }();
      }
      if (TooManyFailures(before, failing_cuts)) return;
    }
  }

  std::vector<uint8_t> v1_, v2_;
};

// Default set, a few seconds per case: kPrefix at every cut of a PERM
// upgrade, reference geometry; kRandomErasedHead on the same, so that a status
// entry or copy_done judged by its first byte only (a torn cell taken for
// unwritten, then written again) fails the default run and not only
// `ctest -L long`; and kPrefix with an image reaching the slot trailer, where
// swap-scratch's scratch trailer erase, torn mid-sector, used to leave a GOOD
// magic over half-erased data and corrupt the primary on resume.
using TornSwapDefault = TornSwap;
TEST_P(TornSwapDefault, PermanentUpgradeAtEveryTornCut) { PermAtEveryCut(); }

INSTANTIATE_TEST_SUITE_P(Torn, TornSwapDefault,
                         ::testing::Values(TornCase{ScratchReference(), Tear::kPrefix},
                                           TornCase{MoveReference(), Tear::kPrefix},
                                           TornCase{ScratchReference(), Tear::kRandomErasedHead},
                                           TornCase{MoveReference(), Tear::kRandomErasedHead},
                                           TornCase{OffsetReference(), Tear::kPrefix},
                                           TornCase{OffsetReference(), Tear::kRandomErasedHead},
                                           TornCase{ScratchReference(true), Tear::kPrefix}),
                         CaseName);

// The exhaustive matrix: every layout x every tear flavour x PERM and TEST +
// REVERT (the default cases again included, so `ctest -L long` is complete).
using TornSwapLong = TornSwap;
TEST_P(TornSwapLong, PermanentUpgradeAtEveryTornCut) { PermAtEveryCut(); }
TEST_P(TornSwapLong, TestUpgradeAndRevertAtEveryTornCut) { TestAndRevertAtEveryCut(); }

std::vector<TornCase> LongCases() {
  std::vector<TornCase> cases;
  for (const Layout& layout :
       {ScratchReference(), Scratch3Sectors(), MoveReference(), ScratchReference(true),
        Scratch3Sectors(true), MoveReference(true), ScratchW4Erased00(), MoveW4Erased00(),
        OffsetReference(), OffsetReference(true), OffsetW4Erased00()}) {
    for (Tear tear : {Tear::kPrefix, Tear::kRandom, Tear::kRandomErasedHead}) {
      cases.push_back({layout, tear});
    }
  }
  return cases;
}

INSTANTIATE_TEST_SUITE_P(Torn, TornSwapLong, ::testing::ValuesIn(LongCases()), CaseName);

}  // namespace
}  // namespace mqota::boot
