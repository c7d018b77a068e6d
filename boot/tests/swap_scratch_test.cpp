#include "mqota/boot/swap_scratch.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "mqota/boot/app_api.h"
#include "mqota/boot/swap_type.h"
#include "swap_rig.h"

namespace mqota::boot {
namespace {

using testing::RigLayout;
using testing::SwapRig;

// Both images of the reference run (docs/spec/power-loss-testing.md#operation-counts):
// ~101.1 KiB, 26 one-sector regions.
constexpr uint32_t kReferenceImage = 0x19480;
constexpr uint32_t kReferenceOldImage = 0x19000;

const char* TypeName(SwapType type) {
  switch (type) {
    case SwapType::kTest: return "TEST";
    case SwapType::kPerm: return "PERM";
    case SwapType::kRevert: return "REVERT";
    default: return "?";
  }
}

RigLayout Layout(uint32_t write_size = 8, uint8_t erased = 0xff, uint32_t scratch_sectors = 1,
                 uint32_t sector_bytes = 4096) {
  RigLayout layout;
  layout.write_size = write_size;
  layout.erased = erased;
  layout.scratch_sectors = scratch_sectors;
  layout.sector_bytes = sector_bytes;
  return layout;
}

uint32_t MaxImage(const RigLayout& layout) {
  SwapRig rig(layout);
  return SwapScratch().MaxImageSize(rig.context());
}

// One swap to run: the old image in the primary, the new one in the secondary,
// the request staged by the app; a REVERT scenario first completes a clean TEST.
struct Scenario {
  RigLayout layout;
  uint32_t old_bytes;
  uint32_t new_bytes;
  SwapType type;

  uint32_t copy_size() const { return std::max(old_bytes, new_bytes); }
  std::string Name() const {
    return layout.Name() + "_I" + std::to_string(new_bytes) + "_" + TypeName(type);
  }
};

std::vector<uint8_t> OldImage(const Scenario& s) { return SwapRig::Image(s.old_bytes, 1); }
std::vector<uint8_t> NewImage(const Scenario& s) { return SwapRig::Image(s.new_bytes, 2); }

void Prepare(SwapRig& rig, const Scenario& s) {
  rig.Place(rig.primary(), OldImage(s));
  rig.Place(rig.secondary(), NewImage(s));
  ASSERT_TRUE(SetPending(rig.secondary_trailer(), s.type == SwapType::kPerm).ok());
  if (s.type == SwapType::kRevert) {
    ASSERT_TRUE(SwapScratch().Swap(rig.context(), SwapType::kTest, s.copy_size()).ok());
  }
  rig.chip().ResetCounters();
}

// What the bootloader does after a reset, reduced to the swap: finish an
// interrupted swap, restart an initialised one, or start the one the swap
// table asks for (which must be the scenario's: nothing may get lost).
BootStatus Boot(SwapRig& rig, SwapType expected, uint32_t copy_size) {
  SwapScratch algorithm;
  const auto result = algorithm.Resume(rig.context());
  if (!result.ok()) return result.error();
  switch (result->kind) {
    case ResumeKind::kCompleted:
      EXPECT_EQ(result->type, expected);
      EXPECT_EQ(result->swap_size, copy_size);
      return {};
    case ResumeKind::kRestartNeeded:
      EXPECT_EQ(result->type, expected);
      EXPECT_EQ(result->swap_size, copy_size);
      return algorithm.Swap(rig.context(), result->type, result->swap_size);
    case ResumeKind::kNothingInProgress: break;
  }
  const auto primary = rig.primary_trailer().Read();
  const auto secondary = rig.secondary_trailer().Read();
  if (!primary.ok()) return primary.error();
  if (!secondary.ok()) return secondary.error();
  const SwapType decided = DecideSwapType(*primary, *secondary);
  EXPECT_EQ(decided, expected) << "the request was lost";
  if (decided != expected) return {};
  return algorithm.Swap(rig.context(), expected, copy_size);
}

bool IsPowerLoss(const BootStatus& status) {
  return !status.ok() && status.error().code == BootErrc::kFlash &&
         status.error().flash.code == flash::FlashErrc::kPowerLost;
}

// The clean run every interrupted one must end up identical to.
struct Reference {
  uint32_t operations = 0;
  uint32_t erases = 0;
  uint32_t writes = 0;
  std::vector<uint8_t> primary;
  std::vector<uint8_t> secondary;
};

Reference CleanRun(const Scenario& s) {
  Reference ref;
  SwapRig rig(s.layout);
  Prepare(rig, s);
  EXPECT_TRUE(SwapScratch().Swap(rig.context(), s.type, s.copy_size()).ok());
  ref.operations = rig.chip().operations();
  ref.erases = rig.chip().counters().erases;
  ref.writes = rig.chip().counters().writes;
  ref.primary = rig.Read(rig.primary(), rig.primary().size_bytes());
  ref.secondary = rig.Read(rig.secondary(), rig.secondary().size_bytes());
  return ref;
}

// Invariants 1-4 of docs/spec/power-loss-testing.md#invariants-after-a-cut
// after a swap that ends (however often it was cut).
::testing::AssertionResult MatchesReference(SwapRig& rig, const Scenario& s, const Reference& ref) {
  if (rig.Read(rig.primary(), rig.primary().size_bytes()) != ref.primary) {
    return ::testing::AssertionFailure() << "primary differs from the clean run";
  }
  if (rig.Read(rig.secondary(), rig.secondary().size_bytes()) != ref.secondary) {
    return ::testing::AssertionFailure() << "secondary differs from the clean run";
  }
  if (rig.chip().counters().refused != 0) {
    return ::testing::AssertionFailure() << rig.chip().counters().refused << " refused operations";
  }
  const auto p = rig.primary_trailer().Read();
  const auto q = rig.secondary_trailer().Read();
  if (!p.ok() || !q.ok()) return ::testing::AssertionFailure() << "trailer unreadable";
  const bool confirmed = s.type != SwapType::kTest;
  if (p->magic != MagicState::kGood || p->copy_done != FlagState::kSet ||
      p->image_ok != (confirmed ? FlagState::kSet : FlagState::kUnset) ||
      q->magic != MagicState::kUnset) {
    return ::testing::AssertionFailure()
           << "end state: primary magic " << Describe(p->magic) << " image_ok "
           << Describe(p->image_ok) << " copy_done " << Describe(p->copy_done)
           << ", secondary magic " << Describe(q->magic);
  }
  // One more boot with no app action changes nothing here (a TEST then asks
  // for its revert through the swap table, not through a resume).
  const SwapType next = DecideSwapType(*p, *q);
  if (next != (confirmed ? SwapType::kNone : SwapType::kRevert)) {
    return ::testing::AssertionFailure() << "next boot would do " << Describe(next);
  }
  const uint32_t before = rig.chip().operations();
  const auto again = SwapScratch().Resume(rig.context());
  if (!again.ok() || again->kind != ResumeKind::kNothingInProgress ||
      rig.chip().operations() != before) {
    return ::testing::AssertionFailure() << "a resume after completion did something";
  }
  return ::testing::AssertionSuccess();
}

// A generous "one step" (docs/spec/power-loss-testing.md#invariants-after-a-cut,
// invariant 5): the first region's set-up redone
// whole (scratch erase, both trailers, scratch trailer erase, copy, entry), or
// the trailer region's state 2 (trailer sectors, region, copy, rebuilt
// trailer, scratch trailer erase).
uint32_t OneStepBound(const RigLayout& l) {
  const uint32_t trailer_bytes = TrailerGeometry{l.write_size, 8, l.max_sectors}.trailer_bytes();
  const uint32_t trailer_sectors = (trailer_bytes + l.sector_bytes - 1) / l.sector_bytes;
  const uint32_t copy_writes = (l.scratch_sectors * l.sector_bytes + 1023) / 1024;
  return 2 * l.scratch_sectors + trailer_sectors + 1 + 2 * 4 + 1 + copy_writes + 1;
}

struct CutStats {
  uint32_t cuts = 0;
  uint32_t max_extra = 0;
  uint32_t worst_cut = 0;
};

// Cut the power at every operation of the clean swap, boot once more, and
// demand the clean run's result.
void CutAtEveryOperation(const Scenario& s, CutStats& stats) {
  const Reference ref = CleanRun(s);
  ASSERT_GT(ref.operations, 0u);
  const uint32_t copy_size = s.copy_size();
  for (uint32_t k = 0; k < ref.operations; ++k) {
    SCOPED_TRACE("cut after " + std::to_string(k) + " of " + std::to_string(ref.operations));
    SwapRig rig(s.layout);
    Prepare(rig, s);
    rig.chip().CutPowerAfter(k);
    ASSERT_TRUE(IsPowerLoss(SwapScratch().Swap(rig.context(), s.type, copy_size)));
    rig.chip().PowerOn();
    const uint32_t at_cut = rig.chip().operations();
    ASSERT_EQ(at_cut, k + 1);
    ASSERT_TRUE(Boot(rig, s.type, copy_size).ok());
    const uint32_t resumed = rig.chip().operations() - at_cut;
    const uint32_t remaining = ref.operations - k;
    const uint32_t extra = resumed > remaining ? resumed - remaining : 0;
    if (extra > stats.max_extra) {
      stats.max_extra = extra;
      stats.worst_cut = k;
    }
    ASSERT_LE(extra, OneStepBound(s.layout));
    ASSERT_TRUE(MatchesReference(rig, s, ref));
    ++stats.cuts;
  }
}

class SwapScratchCuts : public ::testing::TestWithParam<Scenario> {};

TEST_P(SwapScratchCuts, EveryCutResumesToTheCleanResult) {
  const Scenario& s = GetParam();
  CutStats stats;
  CutAtEveryOperation(s, stats);
  std::printf("[ swap-scratch ] %-40s %4u cut points, max resume overhead %u ops (at cut %u)\n",
              s.Name().c_str(), stats.cuts, stats.max_extra, stats.worst_cut);
  // Reference geometry: no worse than upstream
  // (docs/spec/power-loss-testing.md#invariants-after-a-cut, invariant 5: 14 for
  // TEST, 16 for PERM, whose trailer set-up carries image_ok twice).
  if (s.layout.Name() == RigLayout{}.Name() && s.new_bytes == kReferenceImage) {
    EXPECT_LE(stats.max_extra, s.type == SwapType::kPerm ? 16u : 14u);
  }
}

std::vector<Scenario> Scenarios(const std::vector<RigLayout>& layouts, bool reaching_trailer) {
  std::vector<Scenario> out;
  for (const RigLayout& layout : layouts) {
    const uint32_t new_bytes = reaching_trailer ? MaxImage(layout) : kReferenceImage;
    const uint32_t old_bytes = reaching_trailer ? new_bytes - 0x1234 : kReferenceOldImage;
    for (SwapType type : {SwapType::kTest, SwapType::kPerm, SwapType::kRevert}) {
      out.push_back(Scenario{layout, old_bytes, new_bytes, type});
    }
  }
  return out;
}

std::string ScenarioName(const ::testing::TestParamInfo<Scenario>& info) {
  return info.param.Name();
}

std::vector<Scenario> Concat(std::vector<Scenario> a, const std::vector<Scenario>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// The reference geometry, an image far from the trailer and one up to it.
std::vector<Scenario> ReferenceScenarios() {
  return Concat(Scenarios({Layout()}, false), Scenarios({Layout()}, true));
}

// A 3-sector scratch that does not divide the 32-sector slots, and 1 KiB
// sectors under a 3120-byte trailer (four trailer sectors, image padding).
std::vector<Scenario> ShapeScenarios() {
  return Concat(
      Scenarios({Layout(8, 0xff, 3)}, false),
      Scenarios({Layout(8, 0xff, 3), Layout(8, 0xff, 1, 1024), Layout(8, 0xff, 3, 1024)}, true));
}

// Every other write size and erased value on the reference geometry.
std::vector<Scenario> MatrixScenarios() {
  std::vector<RigLayout> layouts;
  for (uint32_t w : {1u, 2u, 4u, 8u}) {
    for (uint8_t erased : {uint8_t{0xff}, uint8_t{0x00}}) {
      if (w != 8 || erased != 0xff) layouts.push_back(Layout(w, erased));
    }
  }
  return Scenarios(layouts, false);
}

INSTANTIATE_TEST_SUITE_P(SwapScratchReference, SwapScratchCuts,
                         ::testing::ValuesIn(ReferenceScenarios()), ScenarioName);
INSTANTIATE_TEST_SUITE_P(SwapScratchShapes, SwapScratchCuts, ::testing::ValuesIn(ShapeScenarios()),
                         ScenarioName);
INSTANTIATE_TEST_SUITE_P(SwapScratchLongMatrix, SwapScratchCuts,
                         ::testing::ValuesIn(MatrixScenarios()), ScenarioName);

TEST(SwapScratch, NameAndCompatibility) {
  SwapScratch algorithm;
  EXPECT_STREQ(algorithm.name(), "swap-scratch");
  {
    SwapRig rig;
    EXPECT_TRUE(algorithm.IsCompatible(rig.context()));
    EXPECT_EQ(algorithm.MaxImageSize(rig.context()), 128u * 1024 - 3120);
  }
  {
    // Four 1 KiB trailer sectors, only 48 bytes in the first: the image stops
    // 24 bytes short so its tail clears the 72-byte scratch trailer.
    SwapRig rig(Layout(8, 0xff, 1, 1024));
    EXPECT_TRUE(algorithm.IsCompatible(rig.context()));
    EXPECT_EQ(algorithm.MaxImageSize(rig.context()), 32u * 1024 - 3120 - 24);
  }
  {
    RigLayout layout;
    layout.secondary_sectors = 31;
    SwapRig rig(layout);
    EXPECT_FALSE(algorithm.IsCompatible(rig.context()));
    EXPECT_EQ(algorithm.MaxImageSize(rig.context()), 0u);
  }
  {
    RigLayout layout;
    layout.max_sectors = 16;  // the log cannot index 32 sectors
    SwapRig rig(layout);
    EXPECT_FALSE(algorithm.IsCompatible(rig.context()));
  }
  {
    SwapRig rig(Layout(8, 0xff, 0));
    EXPECT_FALSE(algorithm.IsCompatible(rig.context()));
    EXPECT_FALSE(algorithm.Resume(rig.context()).ok());
  }
  {
    SwapRig rig;
    EXPECT_FALSE(algorithm.Swap(rig.context(), SwapType::kNone, 4096).ok());
    EXPECT_FALSE(algorithm.Swap(rig.context(), SwapType::kTest, 0).ok());
    EXPECT_FALSE(algorithm.Swap(rig.context(), SwapType::kTest, 128u * 1024 - 3119).ok());
    EXPECT_EQ(rig.chip().operations(), 0u);
  }
}

TEST(SwapScratch, ResumeOnUntouchedTrailersDoesNothing) {
  SwapScratch algorithm;
  const Scenario s{Layout(), kReferenceOldImage, kReferenceImage, SwapType::kTest};
  for (int variant = 0; variant < 4; ++variant) {
    SCOPED_TRACE(variant);
    SwapRig rig;
    if (variant >= 1) Prepare(rig, s);  // pending TEST in the secondary
    // imgtool --pad, then --confirm, in the primary.
    if (variant >= 2) {
      ASSERT_TRUE(rig.primary_trailer().WriteMagic().ok());
    }
    if (variant >= 3) {
      ASSERT_TRUE(rig.primary_trailer().WriteImageOk().ok());
    }
    rig.chip().ResetCounters();
    const auto result = algorithm.Resume(rig.context());
    ASSERT_TRUE(result.ok());
    EXPECT_EQ(result->kind, ResumeKind::kNothingInProgress);
    EXPECT_EQ(rig.chip().operations(), 0u);
  }
}

// A cut inside the first region's set-up leaves an initialised swap with an
// empty log: Resume reports it, with the recorded type and size, without
// writing; Swap then starts over on the initialised trailers. A cut after the
// first entry is finished by Resume itself.
TEST(SwapScratch, ResumeReportsRestartOrCompletes) {
  for (SwapType type : {SwapType::kTest, SwapType::kPerm}) {
    const Scenario s{Layout(), kReferenceOldImage, kReferenceImage, type};
    const Reference ref = CleanRun(s);
    // Cut after the scratch magic, the primary magic, the scratch erase, at
    // the first entry; then after the first entry and at copy_done. PERM's
    // trailers carry one more field (image_ok) each.
    const uint32_t extra = type == SwapType::kPerm ? 1 : 0;
    const uint32_t first_entry = 13 + 2 * extra;
    for (uint32_t k : {4 + extra, 8 + 2 * extra, 9 + 2 * extra, first_entry, first_entry + 1,
                       ref.operations - 1}) {
      SCOPED_TRACE(std::string(TypeName(type)) + " cut " + std::to_string(k));
      SwapRig rig;
      Prepare(rig, s);
      rig.chip().CutPowerAfter(k);
      ASSERT_TRUE(IsPowerLoss(SwapScratch().Swap(rig.context(), type, s.copy_size())));
      rig.chip().PowerOn();
      const uint32_t before = rig.chip().operations();
      const auto result = SwapScratch().Resume(rig.context());
      ASSERT_TRUE(result.ok());
      EXPECT_EQ(result->type, type);
      EXPECT_EQ(result->swap_size, s.copy_size());
      if (k <= first_entry) {
        EXPECT_EQ(result->kind, ResumeKind::kRestartNeeded);
        EXPECT_EQ(rig.chip().operations(), before);
        ASSERT_TRUE(SwapScratch().Swap(rig.context(), result->type, result->swap_size).ok());
      } else {
        EXPECT_EQ(result->kind, ResumeKind::kCompleted);
      }
      EXPECT_TRUE(MatchesReference(rig, s, ref));
    }
  }
}

// The primary log after a swap reads 01 02 03 per region, then erased
// (docs/spec/mcuboot-trailer.md#swap-status).
TEST(SwapScratch, StatusLogReadsLikeUpstream) {
  const Scenario s{Layout(), kReferenceOldImage, kReferenceImage, SwapType::kTest};
  SwapRig rig;
  Prepare(rig, s);
  ASSERT_TRUE(SwapScratch().Swap(rig.context(), s.type, s.copy_size()).ok());
  const Trailer log = rig.primary_trailer();
  for (uint32_t i = 0; i < 26 * 3; ++i) {
    const auto entry = log.ReadStatusEntry(i);
    ASSERT_TRUE(entry.ok() && entry->has_value()) << i;
    EXPECT_EQ(**entry, i % 3 + 1) << i;
  }
  const auto next = log.ReadStatusEntry(26 * 3);
  ASSERT_TRUE(next.ok());
  EXPECT_FALSE(next->has_value());
  const auto state = log.Read();
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(state->swap_type, SwapType::kTest);
  EXPECT_EQ(state->swap_size, std::optional<uint32_t>(kReferenceImage));
}

// Clean swaps exchange the images byte for byte, and a TEST followed by its
// REVERT puts everything back.
TEST(SwapScratch, CleanSwapsExchangeTheImages) {
  for (const RigLayout& layout : {Layout(), Layout(8, 0xff, 3), Layout(2, 0x00, 1, 1024)}) {
    for (bool reaching : {false, true}) {
      for (SwapType type : {SwapType::kTest, SwapType::kPerm}) {
        const uint32_t new_bytes = reaching ? MaxImage(layout) : MaxImage(layout) * 3 / 4 + 7;
        const Scenario s{layout, new_bytes - 0x555, new_bytes, type};
        SCOPED_TRACE(s.Name());
        SwapRig rig(layout);
        Prepare(rig, s);
        ASSERT_TRUE(SwapScratch().Swap(rig.context(), type, s.copy_size()).ok());
        EXPECT_EQ(rig.Read(rig.primary(), s.new_bytes), NewImage(s));
        EXPECT_EQ(rig.Read(rig.secondary(), s.old_bytes), OldImage(s));
        rig.ExpectEndState(type);
        if (type != SwapType::kTest) continue;
        ASSERT_TRUE(SwapScratch().Swap(rig.context(), SwapType::kRevert, s.copy_size()).ok());
        EXPECT_EQ(rig.Read(rig.primary(), s.old_bytes), OldImage(s));
        EXPECT_EQ(rig.Read(rig.secondary(), s.new_bytes), NewImage(s));
        rig.ExpectEndState(SwapType::kRevert);
        EXPECT_EQ(rig.chip().counters().refused, 0u);
      }
    }
  }
}

// docs/spec/power-loss-testing.md#operation-counts: upstream's counts on the
// reference geometry are the ceiling.
TEST(SwapScratch, ReferenceOperationCounts) {
  struct Row {
    SwapType type;
    uint32_t erases;
    uint32_t writes;
  };
  const Row upstream[] = {
      {SwapType::kTest, 81, 397}, {SwapType::kPerm, 81, 399}, {SwapType::kRevert, 81, 398}};
  std::printf("[ swap-scratch ] reference geometry, copy_size 0x%x:\n", kReferenceImage);
  std::printf("[ swap-scratch ] %-7s %7s %7s %6s | upstream %7s %7s %6s\n", "swap", "erases",
              "writes", "total", "erases", "writes", "total");
  for (const Row& row : upstream) {
    const Scenario s{Layout(), kReferenceOldImage, kReferenceImage, row.type};
    SwapRig rig;
    Prepare(rig, s);
    ASSERT_TRUE(SwapScratch().Swap(rig.context(), s.type, s.copy_size()).ok());
    const auto& c = rig.chip().counters();
    std::printf("[ swap-scratch ] %-7s %7u %7u %6u | upstream %7u %7u %6u\n", TypeName(row.type),
                c.erases, c.writes, c.erases + c.writes, row.erases, row.writes,
                row.erases + row.writes);
    EXPECT_LE(c.erases + c.writes, row.erases + row.writes) << TypeName(row.type);
    EXPECT_LE(c.erases, row.erases) << TypeName(row.type);
    EXPECT_LE(c.writes, row.writes) << TypeName(row.type);
    // Wear: at most one erase per slot sector and one scratch erase per region + 1.
    for (uint32_t i = 0; i < 64; ++i) {
      EXPECT_LE(rig.chip().erase_count(i), 1u) << "sector " << i;
    }
    EXPECT_EQ(rig.chip().erase_count(64), 27u);
  }
  // An 8 KiB scratch: upstream erases sector by sector (82 erases, 358 writes).
  const Scenario s{Layout(8, 0xff, 2), kReferenceOldImage, kReferenceImage, SwapType::kTest};
  SwapRig rig(s.layout);
  Prepare(rig, s);
  ASSERT_TRUE(SwapScratch().Swap(rig.context(), s.type, s.copy_size()).ok());
  const auto& c = rig.chip().counters();
  std::printf(
      "[ swap-scratch ] TEST, 8 KiB scratch: %u erases %u writes %u total | upstream 82 358 440\n",
      c.erases, c.writes, c.erases + c.writes);
  EXPECT_LE(c.erases + c.writes, 440u);
  EXPECT_LE(rig.chip().erase_count(64), 14u);
  EXPECT_LE(rig.chip().erase_count(65), 14u);
}

// Up to five successive cuts, each at a random point of the first half of a
// clean run, then one boot to completion (upstream's perm_with_random_fails).
TEST(SwapScratch, RandomMultiCuts) {
  const std::vector<Scenario> scenarios = Concat(Scenarios({Layout(), Layout(4, 0x00, 3)}, false),
                                                 Scenarios({Layout(), Layout(8, 0xff, 3)}, true));
  uint32_t runs = 0;
  for (const Scenario& s : scenarios) {
    const Reference ref = CleanRun(s);
    for (uint32_t seed = 1; seed <= 40; ++seed) {
      SCOPED_TRACE(s.Name() + " seed " + std::to_string(seed));
      std::mt19937 random(seed);
      std::uniform_int_distribution<uint32_t> pick(0, ref.operations / 2);
      SwapRig rig(s.layout);
      Prepare(rig, s);
      bool done = false;
      for (int cut = 0; cut < 5 && !done; ++cut) {
        rig.chip().CutPowerAfter(pick(random));
        const BootStatus status = cut == 0
                                      ? SwapScratch().Swap(rig.context(), s.type, s.copy_size())
                                      : Boot(rig, s.type, s.copy_size());
        if (status.ok()) {
          rig.chip().CancelPowerCut();
          done = true;
        } else {
          ASSERT_TRUE(IsPowerLoss(status));
          rig.chip().PowerOn();
        }
      }
      if (!done) {
        ASSERT_TRUE(Boot(rig, s.type, s.copy_size()).ok());
      }
      ASSERT_TRUE(MatchesReference(rig, s, ref));
      ++runs;
    }
  }
  std::printf("[ swap-scratch ] %u random multi-cut runs\n", runs);
}

}  // namespace
}  // namespace mqota::boot
