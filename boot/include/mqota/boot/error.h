// Errors of the boot layer. Flash failures keep their cause and offset (the
// bootloader reports "write at 0x1ffe8 of primary refused: byte not erased",
// not "boot failed").
#pragma once

#include <cstdint>

#include "mqota/base/result.h"
#include "mqota/flash/error.h"
#include "mqota/image/error.h"

namespace mqota::boot {

enum class BootErrc : uint8_t {
  kFlash,            // a flash operation failed; see `flash`
  kBadMagic,         // a trailer magic is neither erased nor valid (set_pending/confirmed refuse)
  kBadGeometry,      // trailer geometry invalid, or the trailer does not fit the area
  kNoBootableImage,  // the primary slot holds no valid image; see `image`
  kRollback,         // the primary's security counter is below the stored one
};

struct BootError {
  BootErrc code{};
  flash::FlashError flash{};  // meaningful when code == kFlash
  image::ImageError image{};  // meaningful when code == kNoBootableImage
};

const char* Describe(BootErrc code);

template <typename T>
using BootResult = Result<T, BootError>;
using BootStatus = Result<void, BootError>;

constexpr BootError FlashFailure(flash::FlashError error) { return {BootErrc::kFlash, error, {}}; }

// A flash call's status as a boot status, its cause and offset kept: the one
// adapter the boot layer wraps its flash calls in, MQOTA_TRY(Check(area.Read(...))).
constexpr BootStatus Check(const flash::FlashStatus& status) {
  if (!status.ok()) return FlashFailure(status.error());
  return {};
}

}  // namespace mqota::boot
