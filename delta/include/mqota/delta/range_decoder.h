// Entropy coding of a block's body (docs/spec/delta-patch.md#coded-bodies):
// each body byte is coded as 8 binary decisions with adaptive probabilities,
// chosen by what the byte is (a tag, a delta, a run length, a difference, a
// literal). The coder is the binary range coder LZMA made common: 32-bit
// range, 11-bit probabilities moved by 1/16 of the error, one renormalising
// byte at most per decision. The models live here because they cost RAM
// (kContextCount * 256 * 2 bytes) and the decoder must own them.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace mqota::delta {

// What a body byte is: the model it is coded with. Same numbers in the host
// encoder, which emits the body as (context, byte) pairs.
enum class BodyContext : uint8_t {
  kTag = 0,         // first byte of a command's tag
  kDelta = 1,       // first byte of a source delta
  kZeroRun = 2,     // first byte of a run's zero count
  kCount = 3,       // first byte of a run's changed count
  kDiffFirst = 4,   // first difference byte of a run
  kDiffNext = 5,    // later difference bytes of a run
  kLiteral = 6,     // literal bytes
  kVarintMore = 7,  // any varint byte after the first
  // First byte of a run's zero count when the block's zero count before it
  // was kLongZeroRun or more (format 2): the zero counts that follow a long
  // gap, between pools of moved addresses, are distributed unlike those
  // inside a pool.
  kZeroRunAfterLong = 8,
};
inline constexpr uint32_t kContextCount = 9;
// What counts as a long zero count for kZeroRunAfterLong.
inline constexpr uint32_t kLongZeroRun = 8;
// One tree of 256 probabilities (255 used) per context.
inline constexpr size_t kModelProbabilities = size_t{kContextCount} * 256;
inline constexpr uint32_t kProbabilityBits = 11;
inline constexpr uint32_t kProbabilityOne = 1u << kProbabilityBits;
inline constexpr uint32_t kMoveBits = 4;
inline constexpr uint32_t kRangeTop = 1u << 24;
// Adaptation keeps every probability in [kMinProbability, one - kMinProbability],
// so a decision never narrows a range of at least kRangeTop below 2^16 and
// one byte of renormalisation is always enough (the decoder relies on it).
inline constexpr uint32_t kMinProbability = (1u << kMoveBits) - 1;
static_assert((((kRangeTop >> kProbabilityBits) * kMinProbability) << 8) >= kRangeTop,
              "faster adaptation would need more than one renormalising byte per decision");
// The coder's first bytes: a zero, then the 32-bit code.
inline constexpr uint32_t kRangeInitBytes = 5;
// A byte is 8 decisions, each reading at most one byte.
inline constexpr uint32_t kRangeMaxBytesPerSymbol = 8;

class RangeDecoder {
 public:
  // Probabilities back to 1/2, for a new block.
  void Reset() {
    probabilities_.fill(kProbabilityOne / 2);
    range_ = 0xffffffffu;
    code_ = 0;
  }

  // `next(byte)` yields the next coded byte, or returns false when there is
  // none. Both calls return false when the input ran out, or (Init) when the
  // stream does not start with a zero, as no encoder writes it.
  template <typename Next>
  bool Init(Next next) {
    uint8_t byte = 0;
    if (!next(byte) || byte != 0) return false;
    for (uint32_t i = 1; i < kRangeInitBytes; ++i) {
      if (!next(byte)) return false;
      code_ = (code_ << 8) | byte;
    }
    return true;
  }

  template <typename Next>
  bool DecodeByte(BodyContext context, Next next, uint8_t& out) {
    uint16_t* model = probabilities_.data() + size_t{static_cast<uint8_t>(context)} * 256;
    uint32_t node = 1;
    for (int i = 0; i < 8; ++i) {
      uint16_t& p = model[node];
      const uint32_t bound = (range_ >> kProbabilityBits) * p;
      uint32_t bit = 0;
      if (code_ < bound) {
        range_ = bound;
        p = static_cast<uint16_t>(p + ((kProbabilityOne - p) >> kMoveBits));
      } else {
        code_ -= bound;
        range_ -= bound;
        p = static_cast<uint16_t>(p - (p >> kMoveBits));
        bit = 1;
      }
      if (range_ < kRangeTop) {
        uint8_t byte = 0;
        if (!next(byte)) return false;
        range_ <<= 8;
        code_ = (code_ << 8) | byte;
      }
      node = (node << 1) | bit;
    }
    out = static_cast<uint8_t>(node);
    return true;
  }

 private:
  std::array<uint16_t, kModelProbabilities> probabilities_{};
  uint32_t range_ = 0xffffffffu;
  uint32_t code_ = 0;
};

}  // namespace mqota::delta
