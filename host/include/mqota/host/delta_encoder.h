// The host side of delta updates: making a patch from two images, and
// applying one with the device's own decoder (docs/spec/delta-patch.md).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "mqota/delta/error.h"
#include "mqota/delta/format.h"

namespace mqota::host {

struct DeltaOptions {
  // Target bytes per block: a multiple of the target slot's sector size
  // (4 KiB on the virtual board). Larger blocks frame less and give the
  // coder's models longer to learn (the demo's 1.1.0 -> 1.2.0: 15.4 KB at
  // 4 KiB, 9.9 KB at 16 KiB, 9.3 KB at 32 KiB); a power cut re-fetches at
  // most one block's patch bytes and rewrites at most one block.
  uint32_t block_bytes = 32 * 1024;
  // Versions recorded in the header (informational).
  image::ImageVersion source_version;
  image::ImageVersion target_version;
};

// A patch that turns `source` into `target`. Throws UsageError for a block
// size outside the format's limits or images of 4 GiB and more.
std::vector<uint8_t> MakeDeltaPatch(std::span<const uint8_t> source,
                                    std::span<const uint8_t> target, const DeltaOptions& options);

struct AppliedDelta {
  std::vector<uint8_t> target;
  delta::PatchHeader header;
};

// Applies `patch` to `source` with the device decoder over RAM flash, feeding
// the patch in pieces of `piece_bytes`, and checks both SHA-256 digests.
// Errors: those of Decoder::Feed, kSourceMismatch, kTargetMismatch, and
// kCorrupt for a patch that ends before its last block.
delta::DeltaResult<AppliedDelta> ApplyDeltaPatch(std::span<const uint8_t> source,
                                                 std::span<const uint8_t> patch,
                                                 size_t piece_bytes = 4096);

// The header of `patch` (errors: ParsePatchHeader's; kCorrupt when shorter
// than a header).
delta::DeltaResult<delta::PatchHeader> ReadPatchHeader(std::span<const uint8_t> patch);

}  // namespace mqota::host
