#include "slot_readback.h"

#include <algorithm>
#include <array>

#include "mqota/qemu_mps2/console.h"

namespace mqota::qemu_mps2 {
namespace {

uint32_t Le32(const uint8_t* p) {
  return p[0] | uint32_t{p[1]} << 8 | uint32_t{p[2]} << 16 | uint32_t{p[3]} << 24;
}

bool ReadByte(const flash::FlashArea& area, uint32_t offset, uint8_t& out) {
  return area.Read(offset, std::span(&out, 1)).ok();
}

// The slot's first served.size() bytes against what the publisher served.
bool HoldsServedBytes(const flash::FlashArea& slot, std::span<const uint8_t> served) {
  std::array<uint8_t, 256> block{};
  for (uint32_t at = 0; at < served.size(); at += block.size()) {
    const auto n = static_cast<uint32_t>(std::min<size_t>(block.size(), served.size() - at));
    if (!slot.Read(at, std::span(block).first(n)).ok() ||
        !std::equal(block.begin(), block.begin() + n, served.begin() + at)) {
      return false;
    }
  }
  return true;
}

const char* FlagText(uint8_t value) {
  return value == 0xFF ? "unset" : value == boot::kFlagSet ? "set" : "bad";
}

}  // namespace

bool SecondaryHoldsPendingImage(const flash::FlashArea& secondary,
                                const boot::TrailerGeometry& trailer,
                                std::span<const uint8_t> served,
                                const image::ImageVersion& version) {
  std::array<uint8_t, image::kHeaderSizeBytes> header{};
  if (!secondary.Read(0, header).ok()) return false;
  const image::ImageVersion found{
      header[image::kOffVersionMajor], header[image::kOffVersionMinor],
      static_cast<uint16_t>(header[image::kOffVersionRevision] |
                            header[image::kOffVersionRevision + 1] << 8),
      Le32(&header[image::kOffVersionBuild])};
  const bool header_ok = Le32(&header[image::kOffMagic]) == image::kImageMagic && found == version;
  const bool bytes_ok = HoldsServedBytes(secondary, served);
  ConsoleWrite("secondary: image header ");
  ConsoleWrite(Le32(&header[image::kOffMagic]) == image::kImageMagic ? "magic ok" : "magic BAD");
  ConsoleWrite(", version ");
  ConsoleWriteDec(found.major);
  ConsoleWrite(".");
  ConsoleWriteDec(found.minor);
  ConsoleWrite(".");
  ConsoleWriteDec(found.revision);
  ConsoleWrite("+");
  ConsoleWriteDec(found.build);
  ConsoleWrite(bytes_ok ? ", the served image byte for byte (" : ", NOT the served image (");
  ConsoleWriteDec(static_cast<uint32_t>(served.size()));
  ConsoleWrite(" bytes)\n");

  const uint32_t end = secondary.size_bytes();
  std::array<uint8_t, boot::kMagicSizeBytes> magic{};
  uint8_t image_ok = 0;
  uint8_t swap_info = 0;
  const bool read = secondary.Read(end - trailer.magic_from_end(), magic).ok() &&
                    ReadByte(secondary, end - trailer.image_ok_from_end(), image_ok) &&
                    ReadByte(secondary, end - trailer.swap_info_from_end(), swap_info);
  const bool magic_good = read && magic == boot::BootMagic(trailer.max_align);
  const bool test_swap =
      magic_good && image_ok == 0xFF && swap_info == static_cast<uint8_t>(boot::SwapType::kTest);
  ConsoleWrite("secondary: trailer magic ");
  ConsoleWrite(magic_good ? "good" : "not good");
  ConsoleWrite(", image_ok ");
  ConsoleWrite(FlagText(image_ok));
  ConsoleWrite(", swap_info ");
  ConsoleWriteHex(swap_info);
  ConsoleWrite(test_swap ? ": a test swap at the next boot\n" : ": no test swap requested\n");
  return header_ok && bytes_ok && test_swap;
}

}  // namespace mqota::qemu_mps2
