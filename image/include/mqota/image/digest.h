// The digest an image states for itself: its SHA256 TLV, read without
// hashing the image.
//
// For a device telling the server what it runs: the bootloader checked that
// digest against the image before it booted it, so reading it back costs a
// few small reads instead of hashing a whole slot at every start.
#pragma once

#include <array>
#include <cstdint>

#include "mqota/image/crypto.h"
#include "mqota/image/error.h"
#include "mqota/image/image_source.h"
#include "mqota/image/layout.h"

namespace mqota::image {

// Every ParseLayout error; kTlvOverrun from the walk; kBadTlvLength for a
// SHA256 TLV of another length; kNoHash when the image has none.
ImageResult<std::array<uint8_t, kSha256DigestBytes>> ReadStatedDigest(
    ImageSource& source, const LayoutLimits& limits = {});

}  // namespace mqota::image
