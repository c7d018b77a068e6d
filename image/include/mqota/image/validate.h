// Image validation as a bootloader does it (docs/spec/mcuboot-image.md#validation): layout,
// flags, SHA-256 over the hashed region, then a signature by a trusted key,
// the key chosen by the KEYHASH (or PUBKEY) TLV preceding each signature.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>

#include "mqota/image/crypto.h"
#include "mqota/image/error.h"
#include "mqota/image/image_source.h"
#include "mqota/image/layout.h"

namespace mqota::image {

// A public key the device trusts. Several may be listed, so keys can rotate:
// an image is accepted when a signature by any of them verifies.
struct TrustedKey {
  SignatureType type{};
  std::span<const uint8_t> public_key_der;  // DER SubjectPublicKeyInfo
};

struct ValidationOptions {
  // The keys an image may be signed with.
  std::span<const TrustedKey> trusted_keys;
  // When false, only the hash is checked (imgtool `verify` without -k, and
  // unsigned development images). A bootloader keeps this true.
  bool require_signature = true;
  // Refuse NON_BOOTABLE images (a bootloader does; `verify` does not).
  bool require_bootable = true;
  LayoutLimits limits;
};

struct ValidatedImage {
  ImageLayout layout;
  std::array<uint8_t, kSha256DigestBytes> digest{};
  // SEC_CNT from the protected block, if present.
  std::optional<uint32_t> security_counter;
  // Index into trusted_keys of the key whose signature verified; nullopt when
  // no signature was required and none was checked.
  std::optional<uint32_t> signing_key_index;
};

// Errors: every ParseLayout error; kUnsupportedFlags, kNotBootable;
// kTlvOverrun, kMisplacedTlv, kBadTlvLength, kDuplicateTlv from the TLV walk;
// kNoHash, kHashMismatch; with require_signature: kNoSignature (no signature
// TLV), kUnknownKey (no KEYHASH/PUBKEY names a trusted key), kBadSignature
// (a trusted key's signature does not verify), kUnsupportedSignature.
// A caller treats any error as "do not boot, do not mark pending".
ImageResult<ValidatedImage> ValidateImage(ImageSource& source, CryptoBackend& crypto,
                                          const ValidationOptions& options);

}  // namespace mqota::image
