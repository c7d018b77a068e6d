#include "mqota/image/format.h"

#include "mqota/base/endian.h"

namespace mqota::image {

ImageHeader DecodeHeader(std::span<const uint8_t, kHeaderSizeBytes> bytes) {
  ImageHeader header;
  header.magic = LoadLe32(bytes, kOffMagic);
  header.load_addr = LoadLe32(bytes, kOffLoadAddr);
  header.hdr_size = LoadLe16(bytes, kOffHdrSize);
  header.protect_tlv_size = LoadLe16(bytes, kOffProtectTlvSize);
  header.img_size = LoadLe32(bytes, kOffImgSize);
  header.flags = LoadLe32(bytes, kOffFlags);
  header.version.major = bytes[kOffVersionMajor];
  header.version.minor = bytes[kOffVersionMinor];
  header.version.revision = LoadLe16(bytes, kOffVersionRevision);
  header.version.build = LoadLe32(bytes, kOffVersionBuild);
  header.pad1 = LoadLe32(bytes, kOffPad1);
  return header;
}

void EncodeHeader(const ImageHeader& header, std::span<uint8_t, kHeaderSizeBytes> bytes) {
  StoreLe32(bytes, kOffMagic, header.magic);
  StoreLe32(bytes, kOffLoadAddr, header.load_addr);
  StoreLe16(bytes, kOffHdrSize, header.hdr_size);
  StoreLe16(bytes, kOffProtectTlvSize, header.protect_tlv_size);
  StoreLe32(bytes, kOffImgSize, header.img_size);
  StoreLe32(bytes, kOffFlags, header.flags);
  bytes[kOffVersionMajor] = header.version.major;
  bytes[kOffVersionMinor] = header.version.minor;
  StoreLe16(bytes, kOffVersionRevision, header.version.revision);
  StoreLe32(bytes, kOffVersionBuild, header.version.build);
  StoreLe32(bytes, kOffPad1, header.pad1);
}

const char* TlvTypeName(uint16_t type) {
  switch (type) {
    case tlv::kKeyHash: return "KEYHASH";
    case tlv::kPubKey: return "PUBKEY";
    case tlv::kSha256: return "SHA256";
    case tlv::kSha384: return "SHA384";
    case tlv::kSha512: return "SHA512";
    case tlv::kRsa2048Pss: return "RSA2048";
    case tlv::kEcdsaSig: return "ECDSASIG";
    case tlv::kRsa3072Pss: return "RSA3072";
    case tlv::kEd25519: return "ED25519";
    case tlv::kSigPure: return "SIG_PURE";
    case tlv::kEncRsa2048: return "ENCRSA2048";
    case tlv::kEncKw: return "ENCKW";
    case tlv::kEncEc256: return "ENCEC256";
    case tlv::kEncX25519: return "ENCX25519";
    case tlv::kEncX25519Sha512: return "ENCX25519_SHA512";
    case tlv::kDependency: return "DEPENDENCY";
    case tlv::kSecCnt: return "SEC_CNT";
    case tlv::kBootRecord: return "BOOT_RECORD";
    case tlv::kDecompSize: return "DECOMP_SIZE";
    case tlv::kDecompSha: return "DECOMP_SHA";
    case tlv::kDecompSignature: return "DECOMP_SIGNATURE";
    case tlv::kCompDecSize: return "COMP_DEC_SIZE";
    case tlv::kUuidVid: return "UUID_VID";
    case tlv::kUuidCid: return "UUID_CID";
    default: return "UNKNOWN";
  }
}

}  // namespace mqota::image
