// SHA-256 (FIPS 180-4), for the self-test only: the image checks need a real
// hash on the target, and Debian has no mbedTLS for arm-none-eabi. Written to
// be read, not to be fast; a device uses its port's backend (ports/mbedtls).
//
// Streaming: Start(), any number of Update() calls, Finish(). No heap, no
// tables in RAM; the state is this object (112 bytes on the M4).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace mqota::selftest {

class Sha256 {
 public:
  static constexpr size_t kDigestBytes = 32;
  static constexpr size_t kBlockBytes = 64;

  Sha256() { Start(); }

  // Begins a new message, abandoning any in progress.
  void Start();
  // Appends `data` to the message.
  void Update(std::span<const uint8_t> data);
  // Pads the message, writes its digest. Start() again before the next one.
  void Finish(std::span<uint8_t, kDigestBytes> digest);

 private:
  // Processes one 64-byte block (FIPS 180-4 §6.2.2).
  void Compress(const uint8_t* block);

  std::array<uint32_t, 8> state_{};
  std::array<uint8_t, kBlockBytes> block_{};  // the partial block
  size_t block_used_ = 0;                     // bytes of it filled
  uint64_t message_bytes_ = 0;                // message length so far
};

// A SHA-256 digest held by value, so checks can compare two with ==.
using Digest = std::array<uint8_t, Sha256::kDigestBytes>;

// The digest of `data`, in one call: the usual need of a check.
Digest Sha256Of(std::span<const uint8_t> data);

}  // namespace mqota::selftest
