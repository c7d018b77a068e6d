// Builds a signed MCUboot image, byte-compatible with `imgtool sign`
// (docs/spec/mcuboot-image.md#signing-pipeline: imgtool's steps, in its order).
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "mqota/host/keys.h"
#include "mqota/image/format.h"

namespace mqota::host {

struct SignOptions {
  uint32_t header_size = 0;  // ih_hdr_size, >= 32 and <= 0xffff
  bool pad_header = false;   // prepend header_size erased bytes; else input starts with zeros
  image::ImageVersion version;
  uint32_t slot_size = 0;             // checked: image + trailer must fit
  uint32_t align = 1;                 // W, for the trailer-size check
  std::optional<uint32_t> max_align;  // M; default max(8, align)
  uint32_t max_sectors = 128;
  bool overwrite_only = false;
  bool pad = false;      // pad to slot_size and write the trailer magic
  bool confirm = false;  // pad + image_ok = 1
  uint8_t erased_value = 0xff;
  std::optional<uint32_t> security_counter;
  uint32_t load_addr = 0;             // sets RAM_LOAD when non-zero
  std::optional<uint32_t> rom_fixed;  // sets ROM_FIXED
  bool non_bootable = false;
  bool public_key_full = false;  // PUBKEY TLV instead of KEYHASH
  bool pad_signature = false;    // zero-pad an ECDSA signature to 72 bytes
};

// "auto": major << 24 | minor << 16 | revision, as imgtool.
uint32_t AutoSecurityCounter(const image::ImageVersion& version);

// The image for `input` (the raw binary), signed with `key` when given,
// hash-only otherwise. Throws UsageError with imgtool's kind of message when
// the options or the input do not allow an image (header not zero without
// --pad-header, image too big for the slot, ...).
std::vector<uint8_t> BuildSignedImage(std::vector<uint8_t> input, const SignOptions& options,
                                      const Key* key);

}  // namespace mqota::host
