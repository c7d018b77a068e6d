// Errors of the flash layer. A flash error keeps its cause, the operation and
// the offset (style: "keep the cause"), so a log line can say "write at
// 0x1f000 refused: byte not erased" instead of "flash error".
#pragma once

#include <cstdint>

#include "mqota/base/result.h"

namespace mqota::flash {

enum class FlashOp : uint8_t { kRead, kWrite, kErase };

enum class FlashErrc : uint8_t {
  kOutOfBounds,       // the range lies (partly) outside the device or area
  kMisaligned,        // write offset or length is not a multiple of the write alignment
  kNotSectorAligned,  // erase range does not start and end on sector boundaries
  kNotErased,         // write to a byte not erased since it was last written
  kPowerLost,         // the (simulated) power went off during this call or was already off:
                      // the call did not complete; a torn write/erase may have changed part
                      // of its range (NorFlashModel documents exactly how)
  kIo,                // the backing store failed (e.g. a file read or write)
};

struct FlashError {
  FlashErrc code;
  FlashOp op;
  uint32_t offset;  // where the failing operation starts, in the caller's address space
};

// One sentence per code, for logs and the CLI.
const char* Describe(FlashErrc code);
const char* Describe(FlashOp op);

using FlashStatus = Result<void, FlashError>;

}  // namespace mqota::flash
