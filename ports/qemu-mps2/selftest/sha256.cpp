// SHA-256 as FIPS 180-4 §4.1.2, §4.2.2, §5.1.1, §5.3.3 and §6.2 write it.
#include "sha256.h"

#include <algorithm>

namespace mqota::selftest {
namespace {

// FIPS 180-4 §4.2.2: the first 32 bits of the fractional parts of the cube roots of the
// first 64 primes.
constexpr std::array<uint32_t, 64> kRoundConstants = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

// FIPS 180-4 §5.3.3: the first 32 bits of the fractional parts of the square roots of the
// first 8 primes.
constexpr std::array<uint32_t, 8> kInitialState = {
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
};

constexpr uint32_t Rotr(uint32_t x, unsigned n) { return (x >> n) | (x << (32 - n)); }

// FIPS 180-4 §4.1.2.
constexpr uint32_t Ch(uint32_t x, uint32_t y, uint32_t z) { return (x & y) ^ (~x & z); }
constexpr uint32_t Maj(uint32_t x, uint32_t y, uint32_t z) { return (x & y) ^ (x & z) ^ (y & z); }
constexpr uint32_t BigSigma0(uint32_t x) { return Rotr(x, 2) ^ Rotr(x, 13) ^ Rotr(x, 22); }
constexpr uint32_t BigSigma1(uint32_t x) { return Rotr(x, 6) ^ Rotr(x, 11) ^ Rotr(x, 25); }
constexpr uint32_t SmallSigma0(uint32_t x) { return Rotr(x, 7) ^ Rotr(x, 18) ^ (x >> 3); }
constexpr uint32_t SmallSigma1(uint32_t x) { return Rotr(x, 17) ^ Rotr(x, 19) ^ (x >> 10); }

// SHA-256 words are big-endian (FIPS 180-4 §3.1).
uint32_t LoadBe32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

void StoreBe32(uint8_t* p, uint32_t value) {
  p[0] = static_cast<uint8_t>(value >> 24);
  p[1] = static_cast<uint8_t>(value >> 16);
  p[2] = static_cast<uint8_t>(value >> 8);
  p[3] = static_cast<uint8_t>(value);
}

}  // namespace

void Sha256::Start() {
  state_ = kInitialState;
  block_used_ = 0;
  message_bytes_ = 0;
}

void Sha256::Compress(const uint8_t* block) {
  // 1. The message schedule.
  std::array<uint32_t, 64> w;
  for (size_t t = 0; t < 16; ++t) w[t] = LoadBe32(block + 4 * t);
  for (size_t t = 16; t < 64; ++t) {
    w[t] = SmallSigma1(w[t - 2]) + w[t - 7] + SmallSigma0(w[t - 15]) + w[t - 16];
  }
  // 2. The working variables, from the previous hash value.
  uint32_t a = state_[0], b = state_[1], c = state_[2], d = state_[3];
  uint32_t e = state_[4], f = state_[5], g = state_[6], h = state_[7];
  // 3. The 64 rounds.
  for (size_t t = 0; t < 64; ++t) {
    const uint32_t t1 = h + BigSigma1(e) + Ch(e, f, g) + kRoundConstants[t] + w[t];
    const uint32_t t2 = BigSigma0(a) + Maj(a, b, c);
    h = g;
    g = f;
    f = e;
    e = d + t1;
    d = c;
    c = b;
    b = a;
    a = t1 + t2;
  }
  // 4. The intermediate hash value.
  state_[0] += a;
  state_[1] += b;
  state_[2] += c;
  state_[3] += d;
  state_[4] += e;
  state_[5] += f;
  state_[6] += g;
  state_[7] += h;
}

void Sha256::Update(std::span<const uint8_t> data) {
  message_bytes_ += data.size();
  // Top up a partial block first.
  if (block_used_ != 0) {
    const size_t n = std::min(kBlockBytes - block_used_, data.size());
    std::copy_n(data.begin(), n, block_.begin() + block_used_);
    block_used_ += n;
    data = data.subspan(n);
    if (block_used_ < kBlockBytes) return;
    Compress(block_.data());
    block_used_ = 0;
  }
  // Whole blocks straight from the input.
  for (; data.size() >= kBlockBytes; data = data.subspan(kBlockBytes)) Compress(data.data());
  // Keep the rest for later.
  std::copy(data.begin(), data.end(), block_.begin());
  block_used_ = data.size();
}

void Sha256::Finish(std::span<uint8_t, kDigestBytes> digest) {
  // FIPS 180-4 §5.1.1: a 1 bit, zeros up to 56 mod 64 bytes, the length in bits (64-bit
  // big-endian). The length is taken before the padding changes it.
  const uint64_t message_bits = message_bytes_ * 8;
  block_[block_used_++] = 0x80;
  if (block_used_ > kBlockBytes - 8) {
    std::fill(block_.begin() + block_used_, block_.end(), 0);
    Compress(block_.data());
    block_used_ = 0;
  }
  std::fill(block_.begin() + block_used_, block_.end() - 8, 0);
  StoreBe32(block_.data() + 56, static_cast<uint32_t>(message_bits >> 32));
  StoreBe32(block_.data() + 60, static_cast<uint32_t>(message_bits));
  Compress(block_.data());
  for (size_t i = 0; i < state_.size(); ++i) StoreBe32(digest.data() + 4 * i, state_[i]);
  block_used_ = 0;
}

Digest Sha256Of(std::span<const uint8_t> data) {
  Sha256 sha;
  sha.Update(data);
  Digest digest{};
  sha.Finish(digest);
  return digest;
}

}  // namespace mqota::selftest
