// MCUboot's image trailer layout (docs/spec/mcuboot-trailer.md#trailer-layout),
// the one definition in mqota. Used by the bootloader to read and write
// trailers and by `mqota image sign --pad/--confirm` to pre-write them, so
// both always agree.
//
// Offsets are from the end of the slot; M is the maximum write alignment
// (BOOT_MAX_ALIGN, 8 by default), W the flash write size:
//
//   end - trailer_size     swap status: max_sectors x 3 entries of W bytes
//   ...                    (encryption keys: not supported)
//   swap_size_offset       u32 LE, in its own M-byte cell
//   swap_info_offset       1 byte, own cell
//   copy_done_offset       1 byte, own cell
//   image_ok_offset        1 byte, own cell
//   end - align_up(16, M)  magic cell; the magic is the last 16 bytes
//
// Every field sits alone in its cell so it can be written once, in one aligned
// write, without ever rewriting a byte that was not erased.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace mqota::boot {

inline constexpr size_t kMagicSizeBytes = 16;
inline constexpr uint32_t kDefaultMaxAlign = 8;
inline constexpr uint32_t kDefaultMaxSectors = 128;

// Flag values of image_ok and copy_done.
inline constexpr uint8_t kFlagSet = 0x01;

// swap_info = (image_index << 4) | swap type.
enum class SwapType : uint8_t { kNone = 1, kTest = 2, kPerm = 3, kRevert = 4, kFail = 5 };

// The magic for M == 8, and the tail of the magic for other M (whose first two
// bytes are M as u16 LE).
inline constexpr std::array<uint8_t, kMagicSizeBytes> kBootMagic = {
    0x77, 0xc2, 0x95, 0xf3, 0x60, 0xd2, 0xef, 0x7f, 0x35, 0x52, 0x50, 0x0f, 0x2c, 0xb6, 0x79, 0x80};
inline constexpr std::array<uint8_t, kMagicSizeBytes - 2> kBootMagicTail = {
    0x2d, 0xe1, 0x5d, 0x29, 0x41, 0x0b, 0x8d, 0x77, 0x67, 0x9c, 0x11, 0x0f, 0x1f, 0x8a};

constexpr uint32_t AlignUp(uint32_t value, uint32_t align) {
  return (value + align - 1) / align * align;
}

// The 16 magic bytes for a given maximum alignment M.
constexpr std::array<uint8_t, kMagicSizeBytes> BootMagic(uint32_t max_align) {
  if (max_align == kDefaultMaxAlign) return kBootMagic;
  std::array<uint8_t, kMagicSizeBytes> magic{};
  magic[0] = static_cast<uint8_t>(max_align);
  magic[1] = static_cast<uint8_t>(max_align >> 8);
  for (size_t i = 0; i < kBootMagicTail.size(); ++i) magic[2 + i] = kBootMagicTail[i];
  return magic;
}

// The largest W and M: no trailer cell (field, status entry, magic cell) is
// wider, so one buffer of this size on the stack holds any of them.
inline constexpr uint32_t kMaxCellBytes = 32;

struct TrailerGeometry {
  uint32_t write_size = 8;                // W: 1, 2, 4, 8, 16 or 32
  uint32_t max_align = kDefaultMaxAlign;  // M: 8, 16 or 32, and >= W
  uint32_t max_sectors = kDefaultMaxSectors;

  constexpr bool IsValid() const {
    const bool w_ok = write_size == 1 || write_size == 2 || write_size == 4 || write_size == 8 ||
                      write_size == 16 || write_size == 32;
    const bool m_ok = max_align == 8 || max_align == 16 || max_align == 32;
    return w_ok && m_ok && write_size <= max_align && max_sectors > 0;
  }

  constexpr uint32_t magic_cell_bytes() const { return AlignUp(kMagicSizeBytes, max_align); }

  // Distances back from the slot end.
  constexpr uint32_t magic_from_end() const { return kMagicSizeBytes; }
  constexpr uint32_t image_ok_from_end() const { return magic_cell_bytes() + max_align; }
  constexpr uint32_t copy_done_from_end() const { return image_ok_from_end() + max_align; }
  constexpr uint32_t swap_info_from_end() const { return copy_done_from_end() + max_align; }
  constexpr uint32_t swap_size_from_end() const { return swap_info_from_end() + max_align; }

  // The status log: max_sectors x 3 entries of W bytes.
  constexpr uint32_t status_bytes() const { return max_sectors * 3 * write_size; }
  // The whole swap trailer: what imgtool reserves with --max-sectors/--align.
  constexpr uint32_t trailer_bytes() const {
    return status_bytes() + 4 * max_align + magic_cell_bytes();
  }
  // Overwrite-only builds keep just image_ok, copy_done and the magic.
  constexpr uint32_t overwrite_only_trailer_bytes() const {
    return 2 * max_align + magic_cell_bytes();
  }
};

static_assert(TrailerGeometry{8, 8, 128}.trailer_bytes() == 3120);
static_assert(TrailerGeometry{1, 8, 128}.trailer_bytes() == 432);
static_assert(TrailerGeometry{8, 8, 3584}.trailer_bytes() == 86064);
static_assert(TrailerGeometry{8, 8, 128}.image_ok_from_end() == 24);
static_assert(TrailerGeometry{8, 16, 128}.image_ok_from_end() == 32);
static_assert(TrailerGeometry{8, 32, 128}.image_ok_from_end() == 64);
static_assert(TrailerGeometry{8, 8, 128}.swap_size_from_end() == 48);

}  // namespace mqota::boot
