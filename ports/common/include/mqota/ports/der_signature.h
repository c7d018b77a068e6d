// ECDSA signatures in MCUboot images are DER SEQUENCE{r, s}; MCUboot < 1.5
// wanted them zero-padded to 72 bytes (imgtool --pad-sig). Crypto libraries
// verify exact DER only, so every backend trims the padding the same way.
#pragma once

#include <cstdint>
#include <optional>
#include <span>

namespace mqota::ports {

// The DER part of `signature`: its length from the SEQUENCE header (short
// form; an ECDSA P-256 signature is at most 72 bytes). nullopt when the header
// is not a SEQUENCE, claims more bytes than present, or anything but zero
// bytes follows it.
inline std::optional<std::span<const uint8_t>> TrimDerSignaturePadding(
    std::span<const uint8_t> signature) {
  if (signature.size() < 2 || signature[0] != 0x30 || signature[1] >= 0x80) return std::nullopt;
  const size_t der_size = size_t{signature[1]} + 2;
  if (der_size > signature.size()) return std::nullopt;
  for (size_t i = der_size; i < signature.size(); ++i) {
    if (signature[i] != 0) return std::nullopt;
  }
  return signature.first(der_size);
}

}  // namespace mqota::ports
