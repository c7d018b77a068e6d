// After the agent says pending, the check of what it left: the secondary
// slot read back byte by byte, as the bootloader will find it at the next
// reset (the image header's magic and version, the image the publisher
// served, the trailer's magic, image_ok and swap_info). It reads the raw
// bytes at the offsets of docs/spec/mcuboot-image.md and
// docs/spec/mcuboot-trailer.md, not through the agent or the boot library,
// so the code under test does not vouch for itself. Prints two UART lines
// ("secondary: ...").
//
// Part of libmqota_qemu_mps2_script, like the publisher: a test's check, not
// the device's code.
#pragma once

#include <cstdint>
#include <span>

#include "mqota/boot/trailer_format.h"
#include "mqota/flash/flash_area.h"
#include "mqota/image/format.h"

namespace mqota::qemu_mps2 {

// True when the slot holds `served` byte for byte, with a header of
// `version`, and its trailer asks for a test swap: magic good, image_ok
// erased, swap_info TEST for image 0.
bool SecondaryHoldsPendingImage(const flash::FlashArea& secondary,
                                const boot::TrailerGeometry& trailer,
                                std::span<const uint8_t> served,
                                const image::ImageVersion& version);

}  // namespace mqota::qemu_mps2
