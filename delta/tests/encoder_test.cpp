// What the host encoder makes of the changes firmware releases are made of:
// sizes measured against what a patch must at least say, and every patch
// applied back to the exact target.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "mqota/base/endian.h"
#include "mqota/host/delta_encoder.h"
#include "mqota/testing/random_bytes.h"

namespace mqota::delta {
namespace {

// Firmware-like: code (random bytes) followed by a literal pool of 32-bit
// little-endian addresses into the code, one per word. A release inserts
// `inserted` bytes of new code at `at`, which moves every address past it.
struct PoolPair {
  std::vector<uint8_t> source;
  std::vector<uint8_t> target;
  size_t moved_pointers = 0;
};

PoolPair InsertIntoCodeWithAPool(size_t code_bytes, size_t pointers, size_t at, size_t inserted) {
  constexpr uint32_t kBase = 0x08000000;
  PoolPair p;
  const auto code = mqota::testing::PseudoRandomBytes(code_bytes, 11);
  const auto picks = mqota::testing::PseudoRandomBytes(pointers * 2, 12);
  const auto pool = [&](size_t shift_from, size_t shift) {
    std::vector<uint8_t> bytes(pointers * 4);
    for (size_t i = 0; i < pointers; ++i) {
      const uint32_t offset = (LoadLe16(picks, i * 2) * 4u) % code_bytes;
      StoreLe32(bytes, i * 4, kBase + offset + (offset >= shift_from ? shift : 0));
    }
    return bytes;
  };
  p.source = code;
  const auto old_pool = pool(code_bytes, 0);
  p.source.insert(p.source.end(), old_pool.begin(), old_pool.end());
  p.target.assign(code.begin(), code.begin() + static_cast<std::ptrdiff_t>(at));
  const auto new_code = mqota::testing::PseudoRandomBytes(inserted, 13);
  p.target.insert(p.target.end(), new_code.begin(), new_code.end());
  p.target.insert(p.target.end(), code.begin() + static_cast<std::ptrdiff_t>(at), code.end());
  const auto new_pool = pool(at, inserted);
  p.target.insert(p.target.end(), new_pool.begin(), new_pool.end());
  for (size_t i = 0; i < pointers; ++i) {
    p.moved_pointers += LoadLe32(old_pool, i * 4) != LoadLe32(new_pool, i * 4) ? 1 : 0;
  }
  return p;
}

std::vector<uint8_t> MakeAndCheck(const PoolPair& pair) {
  host::DeltaOptions options;
  options.block_bytes = 4096;
  auto patch = host::MakeDeltaPatch(pair.source, pair.target, options);
  const auto applied = host::ApplyDeltaPatch(pair.source, patch);
  EXPECT_TRUE(applied.ok());
  if (applied.ok()) {
    EXPECT_EQ(applied->target, pair.target);
  }
  return patch;
}

// Addresses a word apart, most of them moved by the same amount: which words
// moved is most of the information, and it costs under 0.6 of a byte a moved
// address (the patch's header, the 82 new bytes and each block's framing
// apart): 1771 bytes in all. The encoder that sent every zero gap of less
// than 3 bytes inside changed bytes as data, in every block, made 2192.
TEST(DeltaEncoder, AddressesMovedByAnInsertionCostUnderAByteEach) {
  const PoolPair pair = InsertIntoCodeWithAPool(16 * 1024, 4096, 5000, 82);
  ASSERT_GT(pair.moved_pointers, 2500u);
  const auto patch = MakeAndCheck(pair);
  const size_t fixed = kPatchHeaderBytes + 82 + 10 * (pair.target.size() / 4096 + 1);
  EXPECT_LT(patch.size(), fixed + pair.moved_pointers * 6 / 10)
      << patch.size() << " bytes for " << pair.moved_pointers << " moved addresses";
}

// A block of changes with no structure: whichever way the runs are split,
// the encoder keeps the shortest, never worse than a patch of literal bytes.
TEST(DeltaEncoder, UnrelatedImagesCostNoMoreThanTheTarget) {
  const auto source = mqota::testing::PseudoRandomBytes(20000, 21);
  const auto target = mqota::testing::PseudoRandomBytes(20000, 22);
  const auto patch = host::MakeDeltaPatch(source, target, {});
  EXPECT_LT(patch.size(), target.size() + target.size() / 50);
  const auto applied = host::ApplyDeltaPatch(source, patch);
  ASSERT_TRUE(applied.ok());
  EXPECT_EQ(applied->target, target);
}

}  // namespace
}  // namespace mqota::delta
