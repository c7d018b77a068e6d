#include "mqota/delta/format.h"

#include <algorithm>

#include "mqota/base/crc32c.h"
#include "mqota/base/endian.h"

namespace mqota::delta {
namespace {

image::ImageVersion ReadVersion(std::span<const uint8_t> at) {
  return {at[0], at[1], LoadLe16(at, 2), LoadLe32(at, 4)};
}

void WriteVersion(const image::ImageVersion& version, std::span<uint8_t> at) {
  at[0] = version.major;
  at[1] = version.minor;
  StoreLe16(at, 2, version.revision);
  StoreLe32(at, 4, version.build);
}

}  // namespace

uint32_t PatchHeader::BlockLength(uint32_t index) const {
  const uint64_t start = uint64_t{index} * block_bytes;
  if (start >= target_size_bytes) return 0;
  const uint64_t rest = target_size_bytes - start;
  return static_cast<uint32_t>(rest < block_bytes ? rest : block_bytes);
}

DeltaResult<PatchHeader> ParsePatchHeader(std::span<const uint8_t, kPatchHeaderBytes> bytes) {
  if (LoadLe32(bytes, kOffMagic) != kPatchMagic) return DeltaError{DeltaErrc::kBadMagic};
  if (bytes[kOffFormat] < kOldestPatchFormat || bytes[kOffFormat] > kPatchFormat ||
      LoadLe16(bytes, kOffHeaderBytes) != kPatchHeaderBytes) {
    return DeltaError{DeltaErrc::kBadFormat};
  }
  if (Crc32c(bytes.first(kOffHeaderCrc)) != LoadLe32(bytes, kOffHeaderCrc)) {
    return DeltaError{DeltaErrc::kBadHeader};
  }
  PatchHeader h;
  h.format = bytes[kOffFormat];
  h.block_bytes = LoadLe32(bytes, kOffBlockBytes);
  h.block_count = LoadLe32(bytes, kOffBlockCount);
  h.source_size_bytes = LoadLe32(bytes, kOffSourceSize);
  h.target_size_bytes = LoadLe32(bytes, kOffTargetSize);
  std::copy_n(bytes.begin() + kOffSourceSha256, kDigestBytes, h.source_sha256.begin());
  std::copy_n(bytes.begin() + kOffTargetSha256, kDigestBytes, h.target_sha256.begin());
  h.source_version = ReadVersion(bytes.subspan(kOffSourceVersion, 8));
  h.target_version = ReadVersion(bytes.subspan(kOffTargetVersion, 8));
  // A CRC only protects against accidents; a hostile header has a valid one,
  // so every field the decoder relies on is checked here.
  if (h.block_bytes < kMinBlockBytes || h.block_bytes > kMaxBlockBytes ||
      h.target_size_bytes == 0 || h.source_size_bytes == 0) {
    return DeltaError{DeltaErrc::kBadHeader};
  }
  const uint64_t blocks = (uint64_t{h.target_size_bytes} + h.block_bytes - 1) / h.block_bytes;
  if (blocks != h.block_count) return DeltaError{DeltaErrc::kBadHeader};
  return h;
}

void EncodePatchHeader(const PatchHeader& h, std::span<uint8_t, kPatchHeaderBytes> out) {
  std::fill(out.begin(), out.end(), uint8_t{0});
  StoreLe32(out, kOffMagic, kPatchMagic);
  out[kOffFormat] = h.format;
  StoreLe16(out, kOffHeaderBytes, kPatchHeaderBytes);
  StoreLe32(out, kOffBlockBytes, h.block_bytes);
  StoreLe32(out, kOffBlockCount, h.block_count);
  StoreLe32(out, kOffSourceSize, h.source_size_bytes);
  StoreLe32(out, kOffTargetSize, h.target_size_bytes);
  std::copy(h.source_sha256.begin(), h.source_sha256.end(), out.begin() + kOffSourceSha256);
  std::copy(h.target_sha256.begin(), h.target_sha256.end(), out.begin() + kOffTargetSha256);
  WriteVersion(h.source_version, out.subspan(kOffSourceVersion, 8));
  WriteVersion(h.target_version, out.subspan(kOffTargetVersion, 8));
  StoreLe32(out, kOffHeaderCrc, Crc32c(std::span<const uint8_t>(out).first(kOffHeaderCrc)));
}

size_t EncodeVarint(uint32_t value, std::span<uint8_t> out) {
  size_t n = 0;
  while (value >= 0x80 && n + 1 < out.size()) {
    out[n++] = static_cast<uint8_t>(value | 0x80);
    value >>= 7;
  }
  out[n++] = static_cast<uint8_t>(value);
  return n;
}

}  // namespace mqota::delta
