#include "mqota/agent/protocol.h"

#include <gtest/gtest.h>

#include <array>
#include <span>
#include <vector>

#include "mqota/base/crc32c.h"

namespace mqota::agent {
namespace {

std::vector<uint8_t> FromHex(const std::string& hex) {
  std::vector<uint8_t> out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<uint8_t>(std::stoul(hex.substr(i, 2), nullptr, 16)));
  }
  return out;
}

// The first header publisher.py sent for a 10 000-byte image at job version
// 1.6.0, as observed on the wire (docs/spec/reference-protocol.md#chunk-header).
const char kObservedFirstHeader[] =
    "4f5441496d616765200000000100060000001027000000000000001003000000";

TEST(ChunkHeader, DecodesTheHeaderPublisherPySends) {
  auto payload = FromHex(kObservedFirstHeader);
  payload.resize(32 + 4096, 0xab);
  const auto r = DecodeChunk(payload);
  ASSERT_TRUE(r.ok()) << Describe(r.error());
  const ChunkHeader& h = r->header;
  EXPECT_EQ(h.offset_to_data, 32);
  EXPECT_EQ(h.image_type, 0);
  EXPECT_EQ(h.version_major, 1);
  EXPECT_EQ(h.version_minor, 6);
  EXPECT_EQ(h.version_build, 0);
  EXPECT_EQ(h.total_size, 10000u);
  EXPECT_EQ(h.image_offset, 0u);
  EXPECT_EQ(h.data_size, 4096);
  EXPECT_EQ(h.total_num_payloads, 3);
  EXPECT_EQ(h.this_payload_index, 0);
  EXPECT_EQ(r->data.size(), 4096u);
  EXPECT_EQ(r->data.data(), payload.data() + 32);
}

TEST(ChunkHeader, EncodeIsTheExactInverse) {
  ChunkHeader h;
  h.version_major = 1;
  h.version_minor = 6;
  h.total_size = 10000;
  h.image_offset = 8192;
  h.data_size = 1808;
  h.total_num_payloads = 3;
  h.this_payload_index = 2;
  std::array<uint8_t, kChunkHeaderBytes> bytes{};
  EncodeChunkHeader(h, bytes);
  EXPECT_EQ(std::vector<uint8_t>(bytes.begin(), bytes.end()),
            FromHex("4f5441496d616765200000000100060000001027000000200000100703000200"));
  std::vector<uint8_t> payload(bytes.begin(), bytes.end());
  payload.resize(32 + 1808);
  const auto r = DecodeChunk(payload);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->header, h);
}

struct BadCase {
  const char* name;
  void (*mutate)(std::vector<uint8_t>&);
  ChunkError error;
};

TEST(ChunkHeader, EveryLengthAndOffsetIsCheckedAgainstThePayloadAndTheImage) {
  const BadCase cases[] = {
      {"magic", [](auto& p) { p[0] = 'o'; }, ChunkError::kBadMagic},
      {"image type", [](auto& p) { p[10] = 1; }, ChunkError::kBadImageType},
      {"data offset below header", [](auto& p) { p[8] = 31; }, ChunkError::kBadDataOffset},
      {"data offset past payload",
       [](auto& p) {
         p[8] = 0xff;
         p[9] = 0xff;
       },
       ChunkError::kBadDataOffset},
      // R5: the reference trusts data_size and reads past the payload.
      {"data past payload", [](auto& p) { p.resize(32 + 100); }, ChunkError::kDataOutsidePayload},
      {"data past image",
       [](auto& p) {
         p[22] = 0x00;
         p[23] = 0x26;
       },  // offset 9728 + 4096 > 10000
       ChunkError::kDataOutsideImage},
      {"offset wraps", [](auto& p) { p[22] = p[23] = p[24] = p[25] = 0xff; },
       ChunkError::kDataOutsideImage},
      {"index", [](auto& p) { p[30] = 3; }, ChunkError::kBadIndex},
      {"short", [](auto& p) { p.resize(31); }, ChunkError::kTooShort},
  };
  for (const auto& c : cases) {
    auto payload = FromHex(kObservedFirstHeader);
    payload.resize(32 + 4096);
    c.mutate(payload);
    const auto r = DecodeChunk(payload);
    EXPECT_FALSE(r.ok()) << c.name;
    EXPECT_EQ(r.error(), c.error) << c.name << ": " << Describe(r.error());
  }
}

// The CRC trailer: CRC-32C of the data bytes, little-endian, right after the
// data; a reference decoder still sees only data_size bytes.
TEST(ChunkCrc, TheTableDrivenCrcIsBaseCrc32c) {
  std::vector<uint8_t> data(5000);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i * 131 + (i >> 7));
  for (const size_t n : {0u, 1u, 7u, 64u, 4096u, 5000u}) {
    EXPECT_EQ(ChunkCrc32c(std::span(data.data(), n)), Crc32c(std::span(data.data(), n))) << n;
  }
}

TEST(ChunkCrc, TrailsTheDataLittleEndian) {
  const std::string check = "123456789";  // CRC-32C check value 0xE3069283
  const auto crc = ChunkCrcBytes({reinterpret_cast<const uint8_t*>(check.data()), check.size()});
  EXPECT_EQ(crc, (std::array<uint8_t, 4>{0x83, 0x92, 0x06, 0xe3}));

  ChunkHeader h;
  h.total_size = 9;
  h.data_size = 9;
  h.total_num_payloads = 1;
  std::vector<uint8_t> payload(kChunkHeaderBytes);
  EncodeChunkHeader(h, std::span<uint8_t, kChunkHeaderBytes>(payload.data(), kChunkHeaderBytes));
  payload.insert(payload.end(), check.begin(), check.end());
  EXPECT_FALSE(ChunkCrcMatches(payload, h));  // no trailer
  payload.insert(payload.end(), crc.begin(), crc.end());
  const auto r = DecodeChunk(payload);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->data.size(), 9u);
  EXPECT_TRUE(ChunkCrcMatches(payload, r->header));
  payload[kChunkHeaderBytes + 4] ^= 1;  // data damaged
  EXPECT_FALSE(ChunkCrcMatches(payload, r->header));
  payload[kChunkHeaderBytes + 4] ^= 1;
  payload.back() ^= 1;  // CRC damaged
  EXPECT_FALSE(ChunkCrcMatches(payload, r->header));
  payload.pop_back();  // CRC cut short
  EXPECT_FALSE(ChunkCrcMatches(payload, r->header));
}

}  // namespace
}  // namespace mqota::agent
