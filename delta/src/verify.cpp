#include "mqota/delta/verify.h"

#include <algorithm>
#include <array>

namespace mqota::delta {
namespace {

DeltaResult<void> CheckDigest(const flash::FlashArea& area, uint32_t size_bytes,
                              std::span<const uint8_t, kDigestBytes> expected,
                              image::CryptoBackend& crypto, DeltaErrc mismatch) {
  if (size_bytes > area.size_bytes()) return DeltaError{DeltaErrc::kGeometry};
  // A small stack buffer: this runs once per apply, speed matters less than RAM.
  std::array<uint8_t, 256> buffer{};
  crypto.Sha256Start();
  for (uint32_t at = 0; at < size_bytes;) {
    const uint32_t n = std::min<uint32_t>(buffer.size(), size_bytes - at);
    const auto read = area.Read(at, std::span(buffer).first(n));
    if (!read.ok()) return DeltaError{DeltaErrc::kFlash, read.error()};
    crypto.Sha256Update(std::span(buffer).first(n));
    at += n;
  }
  std::array<uint8_t, kDigestBytes> digest{};
  crypto.Sha256Finish(digest);
  if (!std::equal(digest.begin(), digest.end(), expected.begin())) return DeltaError{mismatch};
  return {};
}

}  // namespace

DeltaResult<void> CheckSource(const flash::FlashArea& source, const PatchHeader& header,
                              image::CryptoBackend& crypto) {
  return CheckDigest(source, header.source_size_bytes, header.source_sha256, crypto,
                     DeltaErrc::kSourceMismatch);
}

DeltaResult<void> CheckTarget(const flash::FlashArea& target, const PatchHeader& header,
                              image::CryptoBackend& crypto) {
  return CheckDigest(target, header.target_size_bytes, header.target_sha256, crypto,
                     DeltaErrc::kTargetMismatch);
}

}  // namespace mqota::delta
