// Deterministic pseudo-random bytes for test images and benchmark payloads:
// the same (size, seed) always gives the same bytes, different seeds tell
// images apart, and nothing compresses or repeats by accident.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace mqota::testing {

inline std::vector<uint8_t> PseudoRandomBytes(size_t size, uint32_t seed) {
  std::vector<uint8_t> bytes(size);
  // xorshift32; a zero state would stay zero, so the seed is mixed in.
  uint32_t x = 0x12345678u ^ (seed * 0x9e3779b9u);
  if (x == 0) x = 1;
  for (auto& b : bytes) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    b = static_cast<uint8_t>(x);
  }
  return bytes;
}

}  // namespace mqota::testing
