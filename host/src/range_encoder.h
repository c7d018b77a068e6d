// The encoding side of delta/range_decoder.h: the same models, the same
// decisions, the output the decoder reads back byte for byte.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "mqota/delta/range_decoder.h"

namespace mqota::host {

class RangeEncoder {
 public:
  RangeEncoder() { probabilities_.fill(delta::kProbabilityOne / 2); }

  void EncodeByte(delta::BodyContext context, uint8_t byte);
  // Flushes the coder and returns everything written.
  std::vector<uint8_t> Finish();

 private:
  void EncodeBit(uint16_t& p, uint32_t bit);
  void ShiftLow();

  std::array<uint16_t, delta::kModelProbabilities> probabilities_{};
  std::vector<uint8_t> out_;
  uint64_t low_ = 0;
  uint32_t range_ = 0xffffffffu;
  uint8_t cache_ = 0;
  uint64_t cache_size_ = 1;
};

}  // namespace mqota::host
