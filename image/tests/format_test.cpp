#include "mqota/image/format.h"

#include <gtest/gtest.h>

#include <array>

namespace mqota::image {
namespace {

TEST(ImageFormat, HeaderEncodeDecodeRoundTripsEveryField) {
  const ImageHeader header{
      kImageMagic, 0x10018000, 0x400, 0x24, 20000, flags::kRamLoad, {1, 2, 0x0304, 0x05060708}, 0};
  std::array<uint8_t, kHeaderSizeBytes> bytes{};
  EncodeHeader(header, bytes);
  EXPECT_EQ(DecodeHeader(bytes), header);
}

TEST(ImageFormat, HeaderBytesAreLittleEndianAtMcubootOffsets) {
  const ImageHeader header{kImageMagic, 0, 0x400, 0, 20000, 0, {1, 2, 3, 4}, 0};
  std::array<uint8_t, kHeaderSizeBytes> bytes{};
  EncodeHeader(header, bytes);
  const std::array<uint8_t, kHeaderSizeBytes> expected = {0x3d, 0xb8, 0xf3, 0x96,  // magic
                                                          0,    0,    0,    0,     // load_addr
                                                          0x00, 0x04,              // hdr_size
                                                          0,    0,               // protect_tlv_size
                                                          0x20, 0x4e, 0,    0,   // img_size 20000
                                                          0,    0,    0,    0,   // flags
                                                          1,    2,    3,    0,   // version 1.2.3
                                                          4,    0,    0,    0,   // build 4
                                                          0,    0,    0,    0};  // pad1
  EXPECT_EQ(bytes, expected);
}

TEST(ImageFormat, TlvNamesMatchImgtoolDumpinfo) {
  EXPECT_STREQ(TlvTypeName(tlv::kSha256), "SHA256");
  EXPECT_STREQ(TlvTypeName(tlv::kKeyHash), "KEYHASH");
  EXPECT_STREQ(TlvTypeName(tlv::kEcdsaSig), "ECDSASIG");
  EXPECT_STREQ(TlvTypeName(tlv::kEd25519), "ED25519");
  EXPECT_STREQ(TlvTypeName(tlv::kSecCnt), "SEC_CNT");
  EXPECT_STREQ(TlvTypeName(0x1234), "UNKNOWN");
}

}  // namespace
}  // namespace mqota::image
