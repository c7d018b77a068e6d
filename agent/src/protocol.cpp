#include "mqota/agent/protocol.h"

#include <algorithm>

#include "mqota/base/crc32c.h"
#include "mqota/base/endian.h"

namespace mqota::agent {

const char* Describe(ChunkError error) {
  switch (error) {
    case ChunkError::kTooShort: return "chunk shorter than its 32-byte header";
    case ChunkError::kBadMagic: return "chunk magic is not OTAImage";
    case ChunkError::kBadImageType: return "chunk image type is not 0 (one file)";
    case ChunkError::kBadDataOffset: return "chunk data offset is outside the payload";
    case ChunkError::kDataOutsidePayload: return "chunk data runs past the end of the payload";
    case ChunkError::kDataOutsideImage: return "chunk data lies outside the image's total size";
    case ChunkError::kBadIndex: return "chunk index is not below the number of chunks";
  }
  return "unknown chunk error";
}

Result<Chunk, ChunkError> DecodeChunk(std::span<const uint8_t> payload) {
  if (payload.size() < kChunkHeaderBytes) return ChunkError::kTooShort;
  if (!std::equal(kChunkMagic.begin(), kChunkMagic.end(), payload.begin())) {
    return ChunkError::kBadMagic;
  }
  ChunkHeader h;
  h.offset_to_data = LoadLe16(payload, 8);
  h.image_type = LoadLe16(payload, 10);
  h.version_major = LoadLe16(payload, 12);
  h.version_minor = LoadLe16(payload, 14);
  h.version_build = LoadLe16(payload, 16);
  h.total_size = LoadLe32(payload, 18);
  h.image_offset = LoadLe32(payload, 22);
  h.data_size = LoadLe16(payload, 26);
  h.total_num_payloads = LoadLe16(payload, 28);
  h.this_payload_index = LoadLe16(payload, 30);

  if (h.image_type != kImageTypeOneFile) return ChunkError::kBadImageType;
  if (h.offset_to_data < kChunkHeaderBytes || h.offset_to_data > payload.size()) {
    return ChunkError::kBadDataOffset;
  }
  if (h.data_size > payload.size() - h.offset_to_data) return ChunkError::kDataOutsidePayload;
  if (uint64_t{h.image_offset} + h.data_size > h.total_size) return ChunkError::kDataOutsideImage;
  if (h.this_payload_index >= h.total_num_payloads) return ChunkError::kBadIndex;
  return Chunk{h, payload.subspan(h.offset_to_data, h.data_size)};
}

void EncodeChunkHeader(const ChunkHeader& h, std::span<uint8_t, kChunkHeaderBytes> out) {
  std::copy(kChunkMagic.begin(), kChunkMagic.end(), out.begin());
  StoreLe16(out, 8, h.offset_to_data);
  StoreLe16(out, 10, h.image_type);
  StoreLe16(out, 12, h.version_major);
  StoreLe16(out, 14, h.version_minor);
  StoreLe16(out, 16, h.version_build);
  StoreLe32(out, 18, h.total_size);
  StoreLe32(out, 22, h.image_offset);
  StoreLe16(out, 26, h.data_size);
  StoreLe16(out, 28, h.total_num_payloads);
  StoreLe16(out, 30, h.this_payload_index);
}

uint32_t ChunkCrc32c(std::span<const uint8_t> data) { return Crc32cTableDriven(data); }

bool ChunkCrcMatches(std::span<const uint8_t> payload, const ChunkHeader& h) {
  const size_t end = size_t{h.offset_to_data} + h.data_size;
  if (payload.size() < end + kChunkCrcBytes) return false;
  return LoadLe32(payload, end) == ChunkCrc32c(payload.subspan(h.offset_to_data, h.data_size));
}

std::array<uint8_t, kChunkCrcBytes> ChunkCrcBytes(std::span<const uint8_t> data) {
  std::array<uint8_t, kChunkCrcBytes> out{};
  StoreLe32(out, 0, ChunkCrc32c(data));
  return out;
}

}  // namespace mqota::agent
