#include "mqota/image/error.h"

namespace mqota::image {

const char* Describe(ImageErrc code) {
  switch (code) {
    case ImageErrc::kReadFailed: return "the image could not be read";
    case ImageErrc::kTruncated: return "the image is truncated: it ends before its declared size";
    case ImageErrc::kBadMagic: return "invalid image magic; is this an MCUboot image?";
    case ImageErrc::kHeaderTooSmall: return "header size is below the 32-byte minimum";
    case ImageErrc::kSizeOverflow: return "header, payload and TLV sizes overflow 32 bits";
    case ImageErrc::kTooLarge: return "the image is larger than the slot allows";
    case ImageErrc::kUnsupportedFlags:
      return "the image is encrypted, compressed or position-independent, which is not supported";
    case ImageErrc::kNotBootable: return "the image is marked non-bootable";
    case ImageErrc::kBadProtectedTlvInfo:
      return "invalid protected TLV area: magic or size does not match the header";
    case ImageErrc::kBadTlvInfo: return "invalid TLV info magic; is this an MCUboot image?";
    case ImageErrc::kTlvOverrun: return "a TLV entry runs past the end of its TLV area";
    case ImageErrc::kMisplacedTlv: return "a TLV that must be protected is in the unprotected area";
    case ImageErrc::kBadTlvLength: return "a TLV has the wrong length for its type";
    case ImageErrc::kDuplicateTlv: return "a TLV that may appear once appears twice";
    case ImageErrc::kNoHash: return "the image has no SHA256 TLV";
    case ImageErrc::kHashMismatch: return "image has an invalid hash";
    case ImageErrc::kNoSignature: return "the image is not signed";
    case ImageErrc::kUnknownKey:
      return "the image is not signed by a trusted key (KEYHASH matches no key)";
    case ImageErrc::kBadSignature: return "the signature does not verify";
    case ImageErrc::kUnsupportedSignature: return "the signature algorithm is not supported here";
  }
  return "unknown image error";
}

}  // namespace mqota::image
