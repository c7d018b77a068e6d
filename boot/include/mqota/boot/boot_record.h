// The boot record: what the last boot did, in a fixed 48-byte layout the
// bootloader writes where the application can read it (a .noinit RAM area on
// an MCU; the virtual board passes it to the image it starts). MCUboot has no
// such thing (mcu-tools/mcuboot#2644), so an application cannot tell that it
// was just reverted; with this, the agent reports the revert to the server.
//
//   off size field
//    0   4   magic 0x6d71626f ("obqm" little-endian)
//    4   1   format (1)
//    5   1   swap: SwapType performed or finished (1 none, 2 test, 3 perm, 4 revert)
//    6   1   flags: bit 0 resumed after a cut, bit 1 confirmed, bit 2 previous
//            version present
//    7   1   rejected: RejectReason of the secondary (0 none)
//    8   1   image_error: ImageErrc when rejected is "invalid"
//    9   3   reserved, 0
//   12   4   image_error_offset
//   16   8   booted version: major, minor, revision u16, build u32
//   24   8   rejected version (same layout)
//   32   8   previous version: what the swap moved out of the primary
//   40   4   reserved, 0
//   44   4   CRC-32C of bytes 0..43
//
// A record that fails its magic, format or CRC check is "no record" (power
// on: RAM holds garbage), never a wrong one.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>

#include "mqota/base/crc32c.h"
#include "mqota/boot/bootloader.h"

namespace mqota::boot {

inline constexpr size_t kBootRecordBytes = 48;
inline constexpr uint32_t kBootRecordMagic = 0x6d71626f;

struct BootRecord {
  SwapType swap = SwapType::kNone;
  bool resumed = false;
  bool confirmed = true;
  RejectReason rejected = RejectReason::kNone;
  image::ImageError image_error{};
  image::ImageVersion booted_version{};
  image::ImageVersion rejected_version{};
  std::optional<image::ImageVersion> previous_version;

  friend bool operator==(const BootRecord&, const BootRecord&) = default;
};

BootRecord MakeBootRecord(const BootOutcome& outcome);
std::array<uint8_t, kBootRecordBytes> EncodeBootRecord(const BootRecord& record);
std::optional<BootRecord> DecodeBootRecord(std::span<const uint8_t, kBootRecordBytes> in);

}  // namespace mqota::boot
