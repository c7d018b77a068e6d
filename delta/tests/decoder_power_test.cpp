// Power cut at every flash operation of an apply, clean and torn
// (docs/spec/power-loss-testing.md#power-cut-injection): after the cut the
// apply resumes from the last persisted checkpoint with a new decoder, and
// must end with the exact target bytes, nothing outside the secondary slot
// touched, no NOR rule broken, no block before the checkpoint redone, and at
// most one block's patch bytes fed twice.
#include <gtest/gtest.h>

#include "delta_rig.h"
#include "mqota/host/delta_encoder.h"

namespace mqota::delta {
namespace {

using testing::DeltaRig;
using testing::Persisted;

struct Geometry {
  uint32_t write_alignment_bytes;
  uint8_t erased_value;
};

class DeltaPowerCut : public ::testing::TestWithParam<flash::TearMode> {};

TEST_P(DeltaPowerCut, ResumesAtTheCheckpointAfterACutAtEveryOperation) {
  const auto source = mqota::testing::PseudoRandomBytes(size_t{16} * 1024, 7);
  const auto target = testing::Evolve(source, 7);
  host::DeltaOptions options;
  options.block_bytes = 1024;
  const auto patch = host::MakeDeltaPatch(source, target, options);
  const uint32_t blocks = static_cast<uint32_t>((target.size() + 1023) / 1024);
  const auto frames = testing::BlockFrames(patch, blocks);
  ASSERT_EQ(frames.back().offset + frames.back().bytes, patch.size());
  ASSERT_TRUE(std::any_of(frames.begin(), frames.end(), [](const auto& f) { return f.coded; }));
  size_t largest_block = 0;
  for (const auto& f : frames) largest_block = std::max(largest_block, f.bytes);
  constexpr size_t kPiece = 64;

  for (const Geometry g : {Geometry{1, 0xFF}, Geometry{8, 0xFF}, Geometry{8, 0x00}}) {
    const std::string geometry =
        flash::testing::GeometryName(g.write_alignment_bytes, g.erased_value);
    uint32_t total = 0;
    {
      DeltaRig rig(g.write_alignment_bytes, g.erased_value);
      rig.Load(source);
      rig.model().ResetCounters();
      Persisted persisted;
      ASSERT_TRUE(rig.Apply(patch, persisted, kPiece).result.ok()) << geometry;
      total = rig.model().operations();
    }
    ASSERT_GT(total, blocks) << geometry;  // an erase and at least one write per block
    for (uint32_t k = 0; k < total; ++k) {
      // The id names the one case: tear mode, geometry, cut point.
      const std::string id = std::to_string(static_cast<int>(GetParam())) + "/" + geometry +
                             "/cut" + std::to_string(k);
      DeltaRig rig(g.write_alignment_bytes, g.erased_value);
      rig.Load(source);
      rig.model().ResetCounters();
      rig.model().CutPowerAfter(k, GetParam(), /*seed=*/k + 1);
      Persisted persisted;
      const auto cut = rig.Apply(patch, persisted, kPiece);
      ASSERT_FALSE(cut.result.ok()) << id;
      ASSERT_EQ(cut.result.error().code, DeltaErrc::kFlash) << id;
      EXPECT_EQ(cut.result.error().flash.code, flash::FlashErrc::kPowerLost) << id;
      ASSERT_TRUE(persisted.header.has_value()) << id;
      // What the cut run consumed past the checkpoint is all that is fetched again.
      const size_t refetched = cut.stopped_at - persisted.checkpoint.patch_offset;
      EXPECT_LE(refetched, largest_block) << id;

      const Persisted at_cut = persisted;
      rig.model().PowerOn();
      rig.model().ResetCounters();
      const auto resumed = rig.Apply(patch, persisted, kPiece);
      ASSERT_TRUE(resumed.result.ok()) << id << ": " << Describe(resumed.result.error().code);
      EXPECT_EQ(rig.SecondaryBytes(target.size()), target) << id;
      EXPECT_TRUE(rig.OutsideSecondaryIntact(source)) << id;
      EXPECT_EQ(rig.model().counters().refused, 0u) << id;
      // One erase per block started: the resumed run began at the checkpoint.
      EXPECT_EQ(rig.model().counters().erases, blocks - at_cut.checkpoint.next_block) << id;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Tears, DeltaPowerCut,
                         ::testing::Values(flash::TearMode::kNone, flash::TearMode::kPrefix,
                                           flash::TearMode::kRandom),
                         [](const auto& param_info) {
                           switch (param_info.param) {
                             case flash::TearMode::kNone: return std::string("Clean");
                             case flash::TearMode::kPrefix: return std::string("TornPrefix");
                             default: return std::string("TornRandom");
                           }
                         });

}  // namespace
}  // namespace mqota::delta
