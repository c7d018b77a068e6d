#include "mqota/server/chunks.h"

#include <algorithm>
#include <span>

namespace mqota::server {

void BuildChunk(const CatalogEntry& entry, uint32_t offset, uint32_t data_bytes, uint16_t index,
                uint16_t total, std::vector<uint8_t>& out, bool crc) {
  BuildChunk(entry.version, entry.data(), offset, data_bytes, index, total, out, crc);
}

void BuildChunk(const image::ImageVersion& version, std::span<const uint8_t> file, uint32_t offset,
                uint32_t data_bytes, uint16_t index, uint16_t total, std::vector<uint8_t>& out,
                bool crc) {
  agent::ChunkHeader header;
  header.version_major = version.major;
  header.version_minor = version.minor;
  header.version_build = version.revision;  // the protocol's third part
  header.total_size = static_cast<uint32_t>(file.size());
  header.image_offset = offset;
  header.data_size = static_cast<uint16_t>(data_bytes);
  header.total_num_payloads = total;
  header.this_payload_index = index;
  out.resize(agent::kChunkHeaderBytes + data_bytes + (crc ? agent::kChunkCrcBytes : 0));
  agent::EncodeChunkHeader(
      header, std::span<uint8_t, agent::kChunkHeaderBytes>(out.data(), agent::kChunkHeaderBytes));
  const auto data = file.subspan(offset, data_bytes);
  std::copy(data.begin(), data.end(), out.begin() + agent::kChunkHeaderBytes);
  if (crc) {
    const auto trailer = agent::ChunkCrcBytes(data);
    std::copy(trailer.begin(), trailer.end(), out.begin() + agent::kChunkHeaderBytes + data_bytes);
  }
}

void BuildStreamChunk(const CatalogEntry& entry, uint32_t index, std::vector<uint8_t>& out) {
  const uint32_t size = entry.size_bytes();
  const uint32_t offset = index * kChunkDataBytes;
  const uint32_t data_bytes = std::min(kChunkDataBytes, size - offset);
  BuildChunk(entry, offset, data_bytes, static_cast<uint16_t>(index),
             static_cast<uint16_t>(ChunkCount(size, kChunkDataBytes)), out);
}

}  // namespace mqota::server
