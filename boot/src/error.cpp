#include "mqota/boot/error.h"

namespace mqota::boot {

const char* Describe(BootErrc code) {
  switch (code) {
    case BootErrc::kFlash: return "a flash operation failed";
    case BootErrc::kBadMagic: return "the trailer magic is corrupt";
    case BootErrc::kBadGeometry: return "the trailer geometry does not fit the flash area";
  }
  return "unknown boot error";
}

}  // namespace mqota::boot
