// Errors of the delta layer. A flash failure keeps its cause (the flash
// layer's error, with the area-relative offset); every other code says what
// was wrong with the patch or with how the caller drives the decoder.
#pragma once

#include <cstdint>

#include "mqota/base/result.h"
#include "mqota/flash/error.h"

namespace mqota::delta {

enum class DeltaErrc : uint8_t {
  kBadMagic,        // the patch does not start with kPatchMagic
  kBadFormat,       // a format version this decoder does not know
  kBadHeader,       // header CRC mismatch, or fields that contradict each other
  kGeometry,        // a block does not start on a sector of the target slot, or an image
                    // does not fit its slot
  kBadCheckpoint,   // the checkpoint does not fit the patch (block beyond the end, ...)
  kCorrupt,         // a block's commands are malformed: unknown kind, a length past the
                    // block's end, a source read outside the source image, a body whose
                    // length disagrees with its commands
  kBlockMismatch,   // a block decoded to bytes whose CRC-32C is not the one the patch states
  kSourceMismatch,  // the source image's SHA-256 is not the one the patch names
  kTargetMismatch,  // the applied image's SHA-256 is not the one the patch names
  kTrailingBytes,   // bytes after the last block
  kFinished,        // Feed after the last block was applied, or before Start
  kFlash,           // a flash operation failed; see DeltaError::flash
};

// One sentence per code, for logs and the CLI.
const char* Describe(DeltaErrc code);

struct DeltaError {
  DeltaErrc code{};
  flash::FlashError flash{};  // meaningful for kFlash only
};

template <typename T>
using DeltaResult = Result<T, DeltaError>;

}  // namespace mqota::delta
