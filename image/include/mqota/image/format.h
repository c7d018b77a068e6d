// The MCUboot image format, in one place (docs/spec/mcuboot-image.md#image-layout).
//
//   [header 32 B + padding to hdr_size][payload: img_size bytes]
//   [protected TLV block: protect_tlv_size bytes, magic 0x6908][TLV block, magic 0x6907]
//
// Every multi-byte field is little-endian. The SHA-256 covers everything before
// the unprotected TLV block. This header is the only definition of these bytes
// in mqota: the bootloader, the agent, the CLI and the tests all use it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace mqota::image {

inline constexpr uint32_t kImageMagic = 0x96f3b83d;
// MCUboot's obsolete v1 magic; such images are rejected, never booted.
inline constexpr uint32_t kImageMagicV1 = 0x96f3b83c;
inline constexpr size_t kHeaderSizeBytes = 32;

// Byte offsets of the header fields.
inline constexpr size_t kOffMagic = 0;
inline constexpr size_t kOffLoadAddr = 4;
inline constexpr size_t kOffHdrSize = 8;
inline constexpr size_t kOffProtectTlvSize = 10;
inline constexpr size_t kOffImgSize = 12;
inline constexpr size_t kOffFlags = 16;
inline constexpr size_t kOffVersionMajor = 20;
inline constexpr size_t kOffVersionMinor = 21;
inline constexpr size_t kOffVersionRevision = 22;
inline constexpr size_t kOffVersionBuild = 24;
inline constexpr size_t kOffPad1 = 28;

// ih_flags bits.
namespace flags {
inline constexpr uint32_t kPic = 0x01;
inline constexpr uint32_t kEncryptedAes128 = 0x04;
inline constexpr uint32_t kEncryptedAes256 = 0x08;
inline constexpr uint32_t kNonBootable = 0x10;
inline constexpr uint32_t kRamLoad = 0x20;
inline constexpr uint32_t kRomFixed = 0x100;
inline constexpr uint32_t kCompressedLzma1 = 0x200;
inline constexpr uint32_t kCompressedLzma2 = 0x400;
inline constexpr uint32_t kCompressedArmThumb = 0x800;
// What mqota cannot boot: position-independent, encrypted or compressed images.
inline constexpr uint32_t kUnsupported = kPic | kEncryptedAes128 | kEncryptedAes256 |
                                         kCompressedLzma1 | kCompressedLzma2 | kCompressedArmThumb;
}  // namespace flags

struct ImageVersion {
  uint8_t major = 0;
  uint8_t minor = 0;
  uint16_t revision = 0;
  uint32_t build = 0;

  friend constexpr bool operator==(const ImageVersion&, const ImageVersion&) = default;
};

// The decoded 32-byte header, field names as MCUboot's `struct image_header`.
struct ImageHeader {
  uint32_t magic = kImageMagic;
  uint32_t load_addr = 0;
  uint16_t hdr_size = 0;
  uint16_t protect_tlv_size = 0;
  uint32_t img_size = 0;
  uint32_t flags = 0;
  ImageVersion version;
  uint32_t pad1 = 0;

  friend constexpr bool operator==(const ImageHeader&, const ImageHeader&) = default;
};

// Plain field extraction and insertion; no checks (see layout.h for those).
ImageHeader DecodeHeader(std::span<const uint8_t, kHeaderSizeBytes> bytes);
void EncodeHeader(const ImageHeader& header, std::span<uint8_t, kHeaderSizeBytes> bytes);

// TLV blocks: an info header {u16 magic, u16 tlv_tot} (tlv_tot includes these 4
// bytes), then entries {u16 type, u16 len, value} back to back.
inline constexpr uint16_t kTlvInfoMagic = 0x6907;
inline constexpr uint16_t kTlvProtectedInfoMagic = 0x6908;
inline constexpr size_t kTlvInfoSizeBytes = 4;
inline constexpr size_t kTlvEntryHeaderSizeBytes = 4;

namespace tlv {
inline constexpr uint16_t kKeyHash = 0x01;
inline constexpr uint16_t kPubKey = 0x02;
inline constexpr uint16_t kSha256 = 0x10;
inline constexpr uint16_t kSha384 = 0x11;
inline constexpr uint16_t kSha512 = 0x12;
inline constexpr uint16_t kRsa2048Pss = 0x20;
inline constexpr uint16_t kEcdsa224 = 0x21;
inline constexpr uint16_t kEcdsaSig = 0x22;
inline constexpr uint16_t kRsa3072Pss = 0x23;
inline constexpr uint16_t kEd25519 = 0x24;
inline constexpr uint16_t kSigPure = 0x25;
inline constexpr uint16_t kEncRsa2048 = 0x30;
inline constexpr uint16_t kEncKw = 0x31;
inline constexpr uint16_t kEncEc256 = 0x32;
inline constexpr uint16_t kEncX25519 = 0x33;
inline constexpr uint16_t kEncX25519Sha512 = 0x34;
inline constexpr uint16_t kDependency = 0x40;
inline constexpr uint16_t kSecCnt = 0x50;
inline constexpr uint16_t kBootRecord = 0x60;
inline constexpr uint16_t kDecompSize = 0x70;
inline constexpr uint16_t kDecompSha = 0x71;
inline constexpr uint16_t kDecompSignature = 0x72;
inline constexpr uint16_t kCompDecSize = 0x73;
inline constexpr uint16_t kUuidVid = 0x74;
inline constexpr uint16_t kUuidCid = 0x75;
// Custom TLVs (imgtool --custom-tlv) use the vendor range.
inline constexpr uint16_t kVendorMin = 0x00a0;
inline constexpr uint16_t kVendorMax = 0xfffe;

inline constexpr size_t kSha256Bytes = 32;
inline constexpr size_t kKeyHashBytes = 32;
inline constexpr size_t kEd25519SigBytes = 64;
inline constexpr size_t kSecCntBytes = 4;

// True for types that are only meaningful when covered by the hash. An image
// carrying one of them in the unprotected block is rejected: otherwise anyone
// could add, say, a security counter after signing.
constexpr bool IsProtectedOnly(uint16_t type) {
  return type == kSecCnt || type == kDependency || type == kBootRecord || type == kUuidVid ||
         type == kUuidCid || (type >= kDecompSize && type <= kCompDecSize);
}
}  // namespace tlv

// The name imgtool's `dumpinfo` prints for a TLV type ("KEYHASH", "ECDSASIG",
// ...; "UNKNOWN" otherwise), so `mqota image dumpinfo --json` matches it.
const char* TlvTypeName(uint16_t type);

}  // namespace mqota::image
