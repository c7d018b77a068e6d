// The two whole-image checks around an apply: the source before the first
// block (the patch is useless, and its blocks fail, against another image)
// and the target after the last (the bootloader's validation follows).
#pragma once

#include "mqota/delta/error.h"
#include "mqota/delta/format.h"
#include "mqota/flash/flash_area.h"
#include "mqota/image/crypto.h"

namespace mqota::delta {

// SHA-256 of the first source_size_bytes of `source` against source_sha256.
// Errors: kSourceMismatch (another image: fetch the full image instead),
// kGeometry (the area is smaller than the source), kFlash.
DeltaResult<void> CheckSource(const flash::FlashArea& source, const PatchHeader& header,
                              image::CryptoBackend& crypto);

// The same for the target: kTargetMismatch, kGeometry, kFlash.
DeltaResult<void> CheckTarget(const flash::FlashArea& target, const PatchHeader& header,
                              image::CryptoBackend& crypto);

}  // namespace mqota::delta
