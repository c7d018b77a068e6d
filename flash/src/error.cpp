#include "mqota/flash/error.h"

namespace mqota::flash {

const char* Describe(FlashErrc code) {
  switch (code) {
    case FlashErrc::kOutOfBounds: return "the range lies outside the flash device or area";
    case FlashErrc::kMisaligned:
      return "write offset or length is not a multiple of the write alignment";
    case FlashErrc::kNotSectorAligned:
      return "erase range does not start and end on sector boundaries";
    case FlashErrc::kNotErased:
      return "write to a byte that was not erased since it was last written";
    case FlashErrc::kPowerLost: return "power was lost: the operation did not complete";
    case FlashErrc::kIo: return "the flash backing store failed";
  }
  // Only reachable with a value cast from outside the enum (e.g. read from a log).
  return "unknown flash error";
}

const char* Describe(FlashOp op) {
  switch (op) {
    case FlashOp::kRead: return "read";
    case FlashOp::kWrite: return "write";
    case FlashOp::kErase: return "erase";
  }
  return "unknown operation";
}

}  // namespace mqota::flash
