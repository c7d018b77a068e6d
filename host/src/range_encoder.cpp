#include "range_encoder.h"

namespace mqota::host {

void RangeEncoder::EncodeByte(delta::BodyContext context, uint8_t byte) {
  uint16_t* model = probabilities_.data() + size_t{static_cast<uint8_t>(context)} * 256;
  uint32_t node = 1;
  for (int i = 7; i >= 0; --i) {
    const uint32_t bit = (byte >> i) & 1u;
    EncodeBit(model[node], bit);
    node = (node << 1) | bit;
  }
}

void RangeEncoder::EncodeBit(uint16_t& p, uint32_t bit) {
  const uint32_t bound = (range_ >> delta::kProbabilityBits) * p;
  if (bit == 0) {
    range_ = bound;
    p = static_cast<uint16_t>(p + ((delta::kProbabilityOne - p) >> delta::kMoveBits));
  } else {
    low_ += bound;
    range_ -= bound;
    p = static_cast<uint16_t>(p - (p >> delta::kMoveBits));
  }
  while (range_ < delta::kRangeTop) {
    range_ <<= 8;
    ShiftLow();
  }
}

// Writes the top byte of `low_` once a carry can no longer reach it; bytes of
// 0xff wait in `cache_size_` until the carry (bit 32) is known.
void RangeEncoder::ShiftLow() {
  if (static_cast<uint32_t>(low_) < 0xff000000u || (low_ >> 32) != 0) {
    const auto carry = static_cast<uint8_t>(low_ >> 32);
    uint8_t byte = cache_;
    do {
      out_.push_back(static_cast<uint8_t>(byte + carry));
      byte = 0xff;
    } while (--cache_size_ != 0);
    cache_ = static_cast<uint8_t>(low_ >> 24);
  }
  ++cache_size_;
  low_ = (low_ & 0x00ffffffu) << 8;
}

std::vector<uint8_t> RangeEncoder::Finish() {
  for (uint32_t i = 0; i < delta::kRangeInitBytes; ++i) ShiftLow();
  return std::move(out_);
}

}  // namespace mqota::host
