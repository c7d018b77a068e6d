#include "mqota/boot/error.h"

namespace mqota::boot {

const char* Describe(BootErrc code) {
  switch (code) {
    case BootErrc::kFlash: return "a flash operation failed";
    case BootErrc::kBadMagic: return "the trailer magic is corrupt";
    case BootErrc::kBadGeometry: return "the trailer geometry does not fit the flash area";
    case BootErrc::kNoBootableImage: return "the primary slot holds no valid image";
    case BootErrc::kRollback: return "the primary image's security counter is below the device's";
  }
  return "unknown boot error";
}

}  // namespace mqota::boot
