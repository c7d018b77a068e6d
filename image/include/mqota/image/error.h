// Errors of the image layer. Each names what is wrong with the image (or with
// reading it) and keeps the offset where it was found, so `mqota image verify`
// can say "TLV at 0x5a32 runs past the end of its block" and a device can
// report why it refused an update.
#pragma once

#include <cstdint>

#include "mqota/base/result.h"

namespace mqota::image {

enum class ImageErrc : uint8_t {
  kReadFailed,            // the image source (flash, file) could not be read
  kTruncated,             // the source ends before the image does
  kBadMagic,              // header magic is not 0x96f3b83d (erased, v1 or garbage)
  kHeaderTooSmall,        // hdr_size < 32
  kSizeOverflow,          // hdr_size + img_size + TLVs does not fit 32 bits
  kTooLarge,              // the image does not fit the slot (or the allowed maximum)
  kUnsupportedFlags,      // encrypted, compressed or position-independent image
  kNotBootable,           // NON_BOOTABLE flag set
  kBadProtectedTlvInfo,   // protected block missing, wrong magic or size mismatch
  kBadTlvInfo,            // unprotected TLV block missing or wrong magic
  kTlvOverrun,            // a TLV entry runs past the end of its block
  kMisplacedTlv,          // a TLV that must be protected sits in the unprotected block
  kBadTlvLength,          // a known TLV has the wrong length (e.g. SHA256 not 32 bytes)
  kDuplicateTlv,          // a TLV that may appear once appears twice
  kNoHash,                // no SHA256 TLV
  kHashMismatch,          // the SHA256 TLV does not match the image bytes
  kNoSignature,           // signatures are required and the image has none
  kUnknownKey,            // no KEYHASH/PUBKEY matches a trusted key
  kBadSignature,          // a signature of a trusted key is present but does not verify
  kUnsupportedSignature,  // the image is signed only with an algorithm the backend lacks
};

struct ImageError {
  ImageErrc code;
  uint32_t offset;  // byte offset in the image where the problem was found

  friend constexpr bool operator==(const ImageError&, const ImageError&) = default;
};

const char* Describe(ImageErrc code);

template <typename T>
using ImageResult = Result<T, ImageError>;
using ImageStatus = Result<void, ImageError>;

}  // namespace mqota::image
