// What tests/vectors/imgtool/expected.json records about ecdsa-v1.2.3+4.bin,
// the imgtool image the image and boot checks run on (embedded in flash by
// embed_file.cmake as vectors::kEcdsaImage). One place, so that the checks of
// both layers hold the image to the same record; digests and the key are
// quoted as expected.json prints them (hex.h).
#pragma once

#include <array>
#include <cstdint>
#include <span>

#include "hex.h"
#include "imgtool_ecdsa_image.h"
#include "mqota/image/tlv.h"
#include "mqota/image/version.h"
#include "sha256.h"

namespace mqota::selftest {

// The embedded bytes. Their size is the generated header's (the .bin's);
// kImageBytes is the record's, and a check compares the two.
inline constexpr std::span<const uint8_t> kImage(vectors::kEcdsaImage);

inline constexpr uint32_t kImageBytes = 21174;  // file_size == image_end
inline constexpr uint32_t kHdrSize = 0x400;     // header.hdr_size
inline constexpr uint32_t kImgSize = 20000;     // header.img_size
// hashed_region.length: header + padding + payload, no protected TLVs.
inline constexpr uint32_t kHashedSize = 21024;
inline constexpr uint32_t kTlvTot = 150;                         // unprotected_tlv_info.tlv_tot
inline constexpr image::ImageVersion kImageVersion{1, 2, 3, 4};  // header.version

// file_sha256: the whole file, to prove the embedded copy is the file.
inline constexpr Digest kFileSha256 =
    Hex("299e11f9cfd371efc473313d619c4dc742909af4e29808f2d7fd64313cc8df57");
// sha256_digest: the hashed region [0, kHashedSize), also the SHA256 TLV's value.
inline constexpr Digest kImageDigest =
    Hex("1fb210f9cea4b17e76b62e87718f462d85d77528cb5280d9660994944db154cd");
// keys.ecdsa-p256.spki_der_hex: the key that signed the image (a TEST key).
inline constexpr std::array<uint8_t, 91> kEcdsaPublicKeyDer = Hex(
    "3059301306072a8648ce3d020106082a8648ce3d0301070342000487355050c53dad0c4f0b36dbe20f05848f99f5"
    "5f1385672b12486b6fffa01c0ab03299b2316d1acf3a36d18324a48866b18ea4e090dc088583ae61caf1cc5144");

// tlvs: the unprotected block right after the hashed region, in order. Each
// value follows the 4-byte TLV info (magic, tlv_tot) or the entry before it,
// and its own 4-byte type and length.
struct RecordedTlv {
  uint16_t type;
  uint16_t length;
  uint32_t value_offset;
};
inline constexpr RecordedTlv kRecordedTlvs[] = {
    {image::tlv::kSha256, 32, kHashedSize + 4 + 4},
    {image::tlv::kKeyHash, 32, kHashedSize + 4 + 36 + 4},
    {image::tlv::kEcdsaSig, 70, kHashedSize + 4 + 36 + 36 + 4},
};
// Where the SHA256 TLV's value lies: ValidateImage reports a hash mismatch
// there, and a derived image gets its recomputed digest there.
inline constexpr uint32_t kSha256TlvValueOffset = kRecordedTlvs[0].value_offset;

}  // namespace mqota::selftest
