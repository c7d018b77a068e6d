// The mqota delta patch format: one header, then independently decodable
// blocks, each producing `block_bytes` of the target image (the last one the
// rest). docs/spec/delta-patch.md#patch-layout is this file in prose; the
// names of fields and constants are the same in both.
//
// This is the only definition of the format: the device decoder, the host
// encoder and `mqota delta info` all use it.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "mqota/delta/error.h"
#include "mqota/image/format.h"

namespace mqota::delta {

inline constexpr uint32_t kPatchMagic = 0x5044514d;  // bytes 4d 51 44 50, "MQDP"
// The format the encoder writes. Format 1 differs only in coding every zero
// count with kZeroRun (docs/spec/delta-patch.md#coded-bodies); the decoder
// still reads it.
inline constexpr uint8_t kPatchFormat = 2;
inline constexpr uint8_t kOldestPatchFormat = 1;
inline constexpr size_t kPatchHeaderBytes = 112;
inline constexpr size_t kDigestBytes = 32;

// Header field offsets (docs/spec/delta-patch.md#header).
inline constexpr size_t kOffMagic = 0;
inline constexpr size_t kOffFormat = 4;
inline constexpr size_t kOffHeaderBytes = 6;
inline constexpr size_t kOffBlockBytes = 8;
inline constexpr size_t kOffBlockCount = 12;
inline constexpr size_t kOffSourceSize = 16;
inline constexpr size_t kOffTargetSize = 20;
inline constexpr size_t kOffSourceSha256 = 24;
inline constexpr size_t kOffTargetSha256 = 56;
inline constexpr size_t kOffSourceVersion = 88;
inline constexpr size_t kOffTargetVersion = 96;
inline constexpr size_t kOffHeaderCrc = 108;

// Blocks of fewer bytes than this would spend more on their framing than a
// power cut can cost; more than this and one cut re-fetches too much.
inline constexpr uint32_t kMinBlockBytes = 256;
inline constexpr uint32_t kMaxBlockBytes = 1u << 20;

struct PatchHeader {
  uint8_t format = kPatchFormat;  // kOldestPatchFormat ... kPatchFormat
  uint32_t block_bytes = 0;
  uint32_t block_count = 0;
  uint32_t source_size_bytes = 0;
  uint32_t target_size_bytes = 0;
  std::array<uint8_t, kDigestBytes> source_sha256{};
  std::array<uint8_t, kDigestBytes> target_sha256{};
  // Informational (for `mqota delta info` and the server's catalog): the
  // versions in the two images' headers. Not used to decode.
  image::ImageVersion source_version;
  image::ImageVersion target_version;

  // Target bytes of block `index` (the last block may be shorter).
  uint32_t BlockLength(uint32_t index) const;
  uint32_t BlockStart(uint32_t index) const { return index * block_bytes; }

  friend constexpr bool operator==(const PatchHeader&, const PatchHeader&) = default;
};

// Errors: kBadMagic, kBadFormat (a format outside [kOldestPatchFormat,
// kPatchFormat], or a header
// length other than kPatchHeaderBytes), kBadHeader (CRC mismatch, a block size
// outside [kMinBlockBytes, kMaxBlockBytes], an empty target, or a block count
// that is not ceil(target / block)).
DeltaResult<PatchHeader> ParsePatchHeader(std::span<const uint8_t, kPatchHeaderBytes> bytes);
// The exact inverse of ParsePatchHeader for a header it accepts.
void EncodePatchHeader(const PatchHeader& header, std::span<uint8_t, kPatchHeaderBytes> out);

// Block framing (docs/spec/delta-patch.md#blocks): varint body length, then
// the CRC-32C of the block's target bytes (u32 LE), then the body: commands.
inline constexpr size_t kBlockCrcBytes = 4;

// A command starts with a varint tag: (length << 2) | kind.
enum class CommandKind : uint8_t {
  kLiteral = 0,  // `length` bytes follow and are the target bytes
  kCopy = 1,     // varint zigzag source delta; `length` source bytes are the target bytes
  kAdd = 2,      // varint zigzag source delta; then runs: target = source + difference
  // varint distance >= 1; `length` bytes copied from `distance` bytes back in
  // the target (earlier blocks included; may overlap what it produces)
  kTargetCopy = 3,
};
inline constexpr uint32_t kKindBits = 2;
inline constexpr uint32_t kMaxCommandLength = 0xffffffffu >> kKindBits;
// A varint is LEB128: 7 bits a byte, least significant first, at most 5 bytes
// for a 32-bit value.
inline constexpr size_t kMaxVarintBytes = 5;

constexpr uint32_t ZigZag(int32_t value) {
  return (static_cast<uint32_t>(value) << 1) ^ static_cast<uint32_t>(value >> 31);
}
constexpr int32_t UnZigZag(uint32_t value) {
  return static_cast<int32_t>((value >> 1) ^ (0u - (value & 1u)));
}

// Writes `value` as a varint at the start of `out` (at least kMaxVarintBytes)
// and returns how many bytes it took.
size_t EncodeVarint(uint32_t value, std::span<uint8_t> out);

}  // namespace mqota::delta
