// Fuzz target: the chunk header decoder on arbitrary payloads.
//
// Property: DecodeChunk returns for any payload; when it accepts one, the data
// it returns lies inside the payload, is exactly data_size bytes, lies inside
// the image (image_offset + data_size <= total_size), the index is below the
// chunk count, and re-encoding the header gives back the payload's first 32
// bytes.
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "mqota/agent/protocol.h"

using namespace mqota::agent;

static void Check(bool property) {
  if (!property) __builtin_trap();
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto r = DecodeChunk(std::span<const uint8_t>(data, size));
  if (!r.ok()) return 0;
  const ChunkHeader& h = r->header;
  Check(r->data.size() == h.data_size);
  Check(r->data.data() >= data && r->data.data() + r->data.size() <= data + size);
  Check(uint64_t{h.image_offset} + h.data_size <= h.total_size);
  Check(h.this_payload_index < h.total_num_payloads);
  std::array<uint8_t, kChunkHeaderBytes> again{};
  EncodeChunkHeader(h, again);
  Check(std::memcmp(again.data(), data, kChunkHeaderBytes) == 0);
  return 0;
}
