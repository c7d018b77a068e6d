// Builds MCUboot images byte by byte for parser tests, including malformed
// ones that a real signer would refuse to produce.
#pragma once

#include <cstdint>
#include <vector>

#include "mqota/base/endian.h"
#include "mqota/image/crypto.h"
#include "mqota/image/format.h"

namespace mqota::image::testing {

struct RawTlv {
  uint16_t type;
  std::vector<uint8_t> value;
};

inline void AppendTlvBlock(std::vector<uint8_t>& out, uint16_t magic,
                           const std::vector<RawTlv>& tlvs) {
  size_t total = kTlvInfoSizeBytes;
  for (const auto& t : tlvs) total += kTlvEntryHeaderSizeBytes + t.value.size();
  const size_t at = out.size();
  out.resize(at + 4);
  StoreLe16(out, at, magic);
  StoreLe16(out, at + 2, static_cast<uint16_t>(total));
  for (const auto& t : tlvs) {
    const size_t entry = out.size();
    out.resize(entry + 4);
    StoreLe16(out, entry, t.type);
    StoreLe16(out, entry + 2, static_cast<uint16_t>(t.value.size()));
    out.insert(out.end(), t.value.begin(), t.value.end());
  }
}

inline size_t TlvBlockSize(const std::vector<RawTlv>& tlvs) {
  size_t total = kTlvInfoSizeBytes;
  for (const auto& t : tlvs) total += kTlvEntryHeaderSizeBytes + t.value.size();
  return total;
}

struct TestImage {
  ImageHeader header{kImageMagic, 0, 0x200, 0, 0, 0, {1, 2, 3, 4}, 0};
  std::vector<uint8_t> payload = std::vector<uint8_t>(1000, 0xA5);
  std::vector<RawTlv> protected_tlvs;
  // Appended after the SHA256 TLV (when add_hash) in the unprotected block.
  std::vector<RawTlv> tlvs;
  bool add_hash = true;

  // The image bytes; the SHA256 TLV, when added, is computed with `crypto`.
  std::vector<uint8_t> Build(CryptoBackend& crypto) const {
    ImageHeader h = header;
    h.img_size = static_cast<uint32_t>(payload.size());
    h.protect_tlv_size =
        protected_tlvs.empty() ? 0 : static_cast<uint16_t>(TlvBlockSize(protected_tlvs));
    std::vector<uint8_t> out(h.hdr_size, 0xFF);
    EncodeHeader(h, std::span<uint8_t, kHeaderSizeBytes>(out.data(), kHeaderSizeBytes));
    out.insert(out.end(), payload.begin(), payload.end());
    if (!protected_tlvs.empty()) AppendTlvBlock(out, kTlvProtectedInfoMagic, protected_tlvs);
    std::vector<RawTlv> all;
    if (add_hash) {
      std::vector<uint8_t> digest(kSha256DigestBytes);
      crypto.Sha256(out, Sha256Digest(digest.data(), kSha256DigestBytes));
      all.push_back({tlv::kSha256, digest});
    }
    all.insert(all.end(), tlvs.begin(), tlvs.end());
    AppendTlvBlock(out, kTlvInfoMagic, all);
    return out;
  }
};

}  // namespace mqota::image::testing
