// Chunk payloads as the protocol carries them
// (docs/spec/reference-protocol.md#chunk-format): the 32-byte header
// from agent::EncodeChunkHeader, then the data, cut from the catalog's shared
// image bytes into a caller-owned buffer (a worker reuses one buffer for every
// chunk it publishes, so streaming allocates nothing per chunk).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "mqota/agent/protocol.h"
#include "mqota/server/catalog.h"

namespace mqota::server {

// Data bytes per chunk in push mode: what publisher.py sends and what a
// reference device's 4608-byte receive buffer holds.
inline constexpr uint32_t kChunkDataBytes = agent::kReferenceChunkDataBytes;

// Chunks of `chunk_bytes` needed for `image_bytes` (the last one may be short).
constexpr uint32_t ChunkCount(uint32_t image_bytes, uint32_t chunk_bytes) {
  return image_bytes / chunk_bytes + (image_bytes % chunk_bytes != 0 ? 1 : 0);
}

// Writes into `out` the chunk with data image[offset, offset + data_bytes),
// labelled index/total, with the entry's version in the header (R12: the
// version of the image being sent, never a process-wide "last job").
// With `crc`, the data's CRC-32C follows it (4 bytes, little-endian; not
// counted in data_size: see agent/protocol.h).
// Preconditions (the callers check): offset + data_bytes <= image size,
// data_bytes <= 65535, index < total <= 65535.
void BuildChunk(const CatalogEntry& entry, uint32_t offset, uint32_t data_bytes, uint16_t index,
                uint16_t total, std::vector<uint8_t>& out, bool crc = false);
// The same for any file sent under `version`'s name: a patch travels under
// its target image's version (docs/spec/mqota-protocol.md#patches).
void BuildChunk(const image::ImageVersion& version, std::span<const uint8_t> file, uint32_t offset,
                uint32_t data_bytes, uint16_t index, uint16_t total, std::vector<uint8_t>& out,
                bool crc = false);

// Chunk `index` of the push stream: 4096-byte grid.
void BuildStreamChunk(const CatalogEntry& entry, uint32_t index, std::vector<uint8_t>& out);

}  // namespace mqota::server
