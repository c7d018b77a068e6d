#include "mqota/delta/decoder.h"

#include <gtest/gtest.h>

#include "delta_rig.h"
#include "mqota/base/crc32c.h"
#include "mqota/base/endian.h"
#include "mqota/host/delta_encoder.h"
#include "mqota/testing/files.h"

namespace mqota::delta {
namespace {

using testing::DeltaRig;
using testing::Persisted;

constexpr uint32_t kBlockBytes = 1024;

struct Pair {
  std::vector<uint8_t> source;
  std::vector<uint8_t> target;
  std::vector<uint8_t> patch;
};

Pair MakePair(uint32_t seed = 1, size_t size = size_t{16} * 1024) {
  Pair p;
  p.source = mqota::testing::PseudoRandomBytes(size, seed);
  p.target = testing::Evolve(p.source, seed);
  host::DeltaOptions options;
  options.block_bytes = kBlockBytes;
  p.patch = host::MakeDeltaPatch(p.source, p.target, options);
  return p;
}

// A patch whose header is real (sizes and digests of `pair`) and whose
// single block is `body` with `crc`: for hand-made hostile blocks.
std::vector<uint8_t> HandMade(const Pair& pair, std::span<const uint8_t> body, uint32_t crc,
                              uint32_t body_length, bool coded = false) {
  PatchHeader h;
  h.block_bytes = 1024;
  h.source_size_bytes = static_cast<uint32_t>(pair.source.size());
  h.target_size_bytes = 1000;
  h.block_count = 1;
  std::vector<uint8_t> patch(kPatchHeaderBytes);
  EncodePatchHeader(h, std::span<uint8_t, kPatchHeaderBytes>(patch));
  std::array<uint8_t, kMaxVarintBytes> length{};
  patch.insert(patch.end(), length.begin(),
               length.begin() + EncodeVarint((body_length << 1) | (coded ? 1u : 0u), length));
  std::array<uint8_t, 4> crc_bytes{};
  StoreLe32(crc_bytes, 0, crc);
  patch.insert(patch.end(), crc_bytes.begin(), crc_bytes.end());
  patch.insert(patch.end(), body.begin(), body.end());
  return patch;
}

// Decodes without the source check (so a hand-made header with zero digests
// reaches the blocks), feeding `patch` whole.
DeltaResult<FeedProgress> FeedAll(DeltaRig& rig, std::span<const uint8_t> patch) {
  Decoder decoder(rig.primary(), rig.secondary());
  decoder.StartFresh();
  DeltaResult<FeedProgress> last = FeedProgress{};
  for (int guard = 0; guard < 1000 && !patch.empty(); ++guard) {
    last = decoder.Feed(patch);
    if (!last.ok()) return last;
    patch = patch.subspan(last->consumed_bytes);
  }
  return last;
}

TEST(DeltaDecoder, AppliesASyntheticReleaseInAnyPieceSize) {
  const Pair pair = MakePair();
  for (size_t piece : {size_t{1}, size_t{7}, size_t{113}, size_t{4096}, pair.patch.size()}) {
    SCOPED_TRACE(piece);
    DeltaRig rig(8, 0xFF);
    rig.Load(pair.source);
    Persisted persisted;
    const auto outcome = rig.Apply(pair.patch, persisted, piece);
    ASSERT_TRUE(outcome.result.ok()) << Describe(outcome.result.error().code);
    EXPECT_EQ(rig.SecondaryBytes(pair.target.size()), pair.target);
    EXPECT_TRUE(rig.OutsideSecondaryIntact(pair.source));
    EXPECT_EQ(rig.model().counters().refused, 0u);
    EXPECT_EQ(persisted.checkpoint.next_block, persisted.header->block_count);
  }
}

TEST(DeltaDecoder, BlocksWithManySmallDifferencesAreRangeCoded) {
  const Pair pair = MakePair();
  const auto blocks = testing::BlockFrames(pair.patch, 17);
  const auto coded =
      std::count_if(blocks.begin(), blocks.end(), [](const auto& b) { return b.coded; });
  EXPECT_GT(coded, 0);
  EXPECT_LT(coded, static_cast<std::ptrdiff_t>(blocks.size()));  // both kinds are exercised
}

TEST(DeltaDecoder, PatchIsSmallForASmallChange) {
  const Pair pair = MakePair();
  // 40 inserted and 300 appended random bytes, 11 changed bytes, ~370
  // shifted "pointers", 17 blocks of framing: under a tenth of the target.
  EXPECT_LT(pair.patch.size(), 1500u) << pair.patch.size();
}

TEST(DeltaDecoder, AppliesOnEveryGeometry) {
  const Pair pair = MakePair(3);
  for (uint32_t w : {1u, 2u, 8u, 32u}) {
    for (uint8_t erased : {uint8_t{0xFF}, uint8_t{0x00}}) {
      SCOPED_TRACE(flash::testing::GeometryName(w, erased));
      DeltaRig rig(w, erased);
      rig.Load(pair.source);
      Persisted persisted;
      const auto outcome = rig.Apply(pair.patch, persisted, 500);
      ASSERT_TRUE(outcome.result.ok()) << Describe(outcome.result.error().code);
      EXPECT_EQ(rig.SecondaryBytes(pair.target.size()), pair.target);
      EXPECT_TRUE(rig.OutsideSecondaryIntact(pair.source));
      EXPECT_EQ(rig.model().counters().refused, 0u);
    }
  }
}

// Format 1 (every zero count coded with kZeroRun) still applies: the vector
// is what the format-1 encoder made of InsertIntoCodeWithAPool(4096, 1024,
// 1500, 40) in 1 KiB blocks. Read as format 2, its zero counts after long
// ones decode with the other model and its blocks fail: the format byte is
// what tells the two apart.
TEST(DeltaDecoder, AFormatOnePatchStillApplies) {
  const auto pair = testing::InsertIntoCodeWithAPool(4096, 1024, 1500, 40);
  const auto patch =
      mqota::testing::ReadFileBytes(MQOTA_DELTA_VECTORS_DIR "/format1-pointer-pool.mqdp");
  ASSERT_GT(patch.size(), kPatchHeaderBytes);
  ASSERT_EQ(patch[kOffFormat], 1);
  {
    DeltaRig rig(8, 0xFF);
    rig.Load(pair.source);
    Persisted persisted;
    const auto outcome = rig.Apply(patch, persisted, 100);
    ASSERT_TRUE(outcome.result.ok()) << Describe(outcome.result.error().code);
    EXPECT_EQ(rig.SecondaryBytes(pair.target.size()), pair.target);
    ASSERT_TRUE(persisted.header.has_value());
    EXPECT_EQ(persisted.header->format, 1);
  }
  auto as_two = patch;
  as_two[kOffFormat] = 2;
  StoreLe32(as_two, kOffHeaderCrc, Crc32c(std::span<const uint8_t>(as_two).first(kOffHeaderCrc)));
  DeltaRig rig(8, 0xFF);
  rig.Load(pair.source);
  Persisted persisted;
  const auto outcome = rig.Apply(as_two, persisted, 100);
  ASSERT_FALSE(outcome.result.ok());
  EXPECT_TRUE(outcome.result.error().code == DeltaErrc::kBlockMismatch ||
              outcome.result.error().code == DeltaErrc::kCorrupt)
      << Describe(outcome.result.error().code);
}

TEST(DeltaDecoder, RefusesAWrongSourceAtTheHeader) {
  const Pair pair = MakePair();
  auto other = pair.source;
  other[5000] ^= 1;
  DeltaRig rig(8, 0xFF);
  rig.Load(other);
  Persisted persisted;
  const auto outcome = rig.Apply(pair.patch, persisted, 256);
  ASSERT_FALSE(outcome.result.ok());
  EXPECT_EQ(outcome.result.error().code, DeltaErrc::kSourceMismatch);
  EXPECT_EQ(outcome.stopped_at, kPatchHeaderBytes);
  EXPECT_EQ(rig.model().counters().erases + rig.model().counters().writes, 0u);
}

TEST(DeltaDecoder, WithoutTheSourceCheckAWrongSourceFailsItsBlock) {
  const Pair pair = MakePair();
  auto other = pair.source;
  other[100] ^= 1;  // read by block 0
  DeltaRig rig(8, 0xFF);
  rig.Load(other);
  const auto r = FeedAll(rig, pair.patch);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, DeltaErrc::kBlockMismatch);
}

TEST(DeltaDecoder, ResumesFromACheckpointWithANewDecoder) {
  const Pair pair = MakePair();
  DeltaRig rig(8, 0xFF);
  rig.Load(pair.source);
  Persisted persisted;
  // Stop in the middle: apply only the first half of the patch's bytes.
  const auto half = std::span(pair.patch).first(pair.patch.size() / 2);
  const auto first = rig.Apply(half, persisted, 64);
  ASSERT_FALSE(first.result.ok());  // ended before its last block
  ASSERT_GT(persisted.checkpoint.next_block, 0u);
  const uint32_t erases_before = rig.model().counters().erases;
  const auto second = rig.Apply(pair.patch, persisted, 64);
  ASSERT_TRUE(second.result.ok()) << Describe(second.result.error().code);
  EXPECT_EQ(rig.SecondaryBytes(pair.target.size()), pair.target);
  // Each block erases its sectors once when it starts: the resumed run
  // started at the checkpoint's block, not at zero.
  const uint32_t blocks = persisted.header->block_count;
  EXPECT_LT(rig.model().counters().erases - erases_before, blocks);
}

TEST(DeltaDecoder, RefusesCheckpointsThatDoNotFit) {
  const Pair pair = MakePair();
  DeltaRig rig(8, 0xFF);
  const PatchHeader header = *ParsePatchHeader(std::span(pair.patch).first<kPatchHeaderBytes>());
  Decoder decoder(rig.primary(), rig.secondary());
  EXPECT_EQ(decoder.Resume(header, {header.block_count + 1, 200}).error().code,
            DeltaErrc::kBadCheckpoint);
  EXPECT_EQ(decoder.Resume(header, {0, 200}).error().code, DeltaErrc::kBadCheckpoint);
  EXPECT_EQ(decoder.Resume(header, {2, 10}).error().code, DeltaErrc::kBadCheckpoint);
  EXPECT_EQ(decoder.Feed(pair.patch).error().code, DeltaErrc::kFinished);
}

TEST(DeltaDecoder, RefusesBlocksThatDoNotOwnTheirSectors) {
  Pair pair;
  pair.source = mqota::testing::PseudoRandomBytes(4000, 1);
  pair.target = testing::Evolve(pair.source, 1);
  host::DeltaOptions options;
  options.block_bytes = 768;  // 1.5 sectors of the rig
  pair.patch = host::MakeDeltaPatch(pair.source, pair.target, options);
  DeltaRig rig(8, 0xFF);
  rig.Load(pair.source);
  const auto r = FeedAll(rig, pair.patch);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, DeltaErrc::kGeometry);
  EXPECT_EQ(rig.model().counters().erases, 0u);
}

TEST(DeltaDecoder, EveryTruncationIsAnErrorNeverASuccess) {
  const Pair pair = MakePair();
  for (size_t size = 0; size < pair.patch.size(); size += 37) {
    DeltaRig rig(8, 0xFF);
    rig.Load(pair.source);
    Persisted persisted;
    const auto outcome = rig.Apply(std::span(pair.patch).first(size), persisted, 64);
    EXPECT_FALSE(outcome.result.ok()) << size;
  }
}

TEST(DeltaDecoder, EveryFlippedByteIsAnErrorOrTheExactTarget) {
  const Pair pair = MakePair();
  for (size_t i = 0; i < pair.patch.size(); i += 3) {
    auto patch = pair.patch;
    patch[i] ^= static_cast<uint8_t>(1u << (i % 8));
    DeltaRig rig(8, 0xFF);
    rig.Load(pair.source);
    Persisted persisted;
    const auto outcome = rig.Apply(patch, persisted, 256);
    if (outcome.result.ok()) {
      EXPECT_EQ(rig.SecondaryBytes(pair.target.size()), pair.target) << i;
    }
    EXPECT_TRUE(rig.OutsideSecondaryIntact(pair.source)) << i;
  }
}

TEST(DeltaDecoder, RefusesBytesAfterTheLastBlock) {
  Pair pair = MakePair();
  pair.patch.push_back(0);
  DeltaRig rig(8, 0xFF);
  rig.Load(pair.source);
  const auto r = FeedAll(rig, pair.patch);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, DeltaErrc::kTrailingBytes);
}

// Hand-made hostile blocks, each refused as kCorrupt before it can read or
// write outside its bounds.
TEST(DeltaDecoder, RefusesHostileCommands) {
  const Pair pair = MakePair();
  const auto tag = [](uint32_t length, CommandKind kind) {
    return static_cast<uint8_t>((length << kKindBits) | static_cast<uint32_t>(kind));
  };
  struct Case {
    const char* name;
    std::vector<uint8_t> body;
    uint32_t body_length;
  };
  const std::vector<Case> cases = {
      {"target copy before the target", {tag(4, CommandKind::kTargetCopy), 5}, 2},
      {"target copy of distance 0", {tag(4, CommandKind::kTargetCopy), 0}, 2},
      {"zero length", {tag(0, CommandKind::kLiteral)}, 1},
      {"length past the block", {0xe8, 0x7f, 0}, 3},  // literal of 8186 bytes
      {"copy before the source", {tag(10, CommandKind::kCopy), 0x81, 0x80, 0x01}, 4},
      {"copy past the source", {tag(10, CommandKind::kCopy), 0xfe, 0xff, 0x03}, 4},
      {"six-byte varint", {0x80, 0x80, 0x80, 0x80, 0x80, 0x01}, 6},
      {"empty run pair", {tag(10, CommandKind::kAdd), 0, 0, 0}, 4},
      {"run past the command", {tag(10, CommandKind::kAdd), 0, 11}, 3},
      {"body ends early", {tag(10, CommandKind::kLiteral), 1, 2, 9, 9, 9}, 3},
      {"body longer than its commands", std::vector<uint8_t>(1003, 0), 1003},
      {"empty body", {}, 0},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto body = c.body;
    if (std::string(c.name) == "body longer than its commands") {
      body[0] = 0xa0;  // literal of 1000 bytes: 2-byte tag 0xa0 0x1f
      body[1] = 0x1f;
    }
    DeltaRig rig(8, 0xFF);
    rig.Load(pair.source);
    const auto r = FeedAll(rig, HandMade(pair, body, 0, c.body_length));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, DeltaErrc::kCorrupt);
    EXPECT_TRUE(rig.OutsideSecondaryIntact(pair.source));
  }
}

// Range-coded bodies that no encoder writes: a stream not starting with a
// zero, one shorter than the coder's start, and noise.
TEST(DeltaDecoder, RefusesHostileCodedBodies) {
  const Pair pair = MakePair();
  const auto noise = mqota::testing::PseudoRandomBytes(64, 9);
  std::vector<uint8_t> noisy = {0};
  noisy.insert(noisy.end(), noise.begin(), noise.end());
  for (const auto& body :
       {std::vector<uint8_t>{1, 0, 0, 0, 0, 0, 0, 0, 0}, std::vector<uint8_t>{0, 0, 0}, noisy}) {
    DeltaRig rig(8, 0xFF);
    rig.Load(pair.source);
    auto patch = HandMade(pair, body, 0, static_cast<uint32_t>(body.size()), /*coded=*/true);
    patch.push_back(0);  // one byte more, so a short body is seen to end
    const auto r = FeedAll(rig, patch);
    ASSERT_FALSE(r.ok()) << body.size();
    EXPECT_TRUE(r.error().code == DeltaErrc::kCorrupt ||
                r.error().code == DeltaErrc::kBlockMismatch)
        << Describe(r.error().code);
    EXPECT_TRUE(rig.OutsideSecondaryIntact(pair.source));
  }
}

TEST(DeltaDecoder, AHandMadeLiteralBlockDecodes) {
  const Pair pair = MakePair();
  std::vector<uint8_t> body = {0xa0, 0x1f};  // literal of 1000 bytes
  const auto bytes = mqota::testing::PseudoRandomBytes(1000, 5);
  body.insert(body.end(), bytes.begin(), bytes.end());
  DeltaRig rig(8, 0xFF);
  rig.Load(pair.source);
  const auto r =
      FeedAll(rig, HandMade(pair, body, Crc32c(bytes), static_cast<uint32_t>(body.size())));
  ASSERT_TRUE(r.ok()) << Describe(r.error().code);
  EXPECT_EQ(r->event, FeedEvent::kDone);
  EXPECT_EQ(rig.SecondaryBytes(1000), bytes);
}

}  // namespace
}  // namespace mqota::delta
