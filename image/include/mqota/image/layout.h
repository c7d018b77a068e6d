// Where the parts of an image lie, established with every length and offset
// checked before anything else reads the image
// (docs/spec/mcuboot-image.md#header-checks).
#pragma once

#include <cstdint>

#include "mqota/image/error.h"
#include "mqota/image/format.h"
#include "mqota/image/image_source.h"

namespace mqota::image {

struct ImageLayout {
  ImageHeader header;
  // [0, hashed_size) is covered by the SHA-256: header, padding, payload and
  // the protected TLV block.
  uint32_t hashed_size = 0;
  uint32_t protected_tlv_offset = 0;  // == payload end; block size is header.protect_tlv_size
  uint32_t tlv_offset = 0;            // unprotected TLV block, starting with its info header
  uint32_t tlv_size = 0;              // its tlv_tot (info header included)
  uint32_t total_size = 0;            // tlv_offset + tlv_size: the image's length in flash
};

struct LayoutLimits {
  // Largest allowed total image length; 0 means "up to the end of the source".
  // The bootloader passes the slot's usable size (slot minus trailer).
  uint32_t max_image_size_bytes = 0;
};

// Reads the header and both TLV info headers and checks, in this order: magic
// (kBadMagic), hdr_size >= 32 (kHeaderTooSmall), the sums without 32-bit
// overflow (kSizeOverflow), payload and blocks inside the source (kTruncated)
// and inside the limit (kTooLarge), the protected block's magic and size
// (kBadProtectedTlvInfo), the unprotected block's magic (kBadTlvInfo).
// Flags are not judged here (see ValidateImage): dumpinfo must show any image.
ImageResult<ImageLayout> ParseLayout(ImageSource& source, const LayoutLimits& limits = {});

}  // namespace mqota::image
