// Signed test images for the server's tests, made with the CLI's signer and
// the imgtool test key (tests/vectors/imgtool), plus a catalog of them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "mqota/host/keys.h"
#include "mqota/host/signer.h"
#include "mqota/server/catalog.h"
#include "mqota/testing/files.h"
#include "mqota/testing/random_bytes.h"

namespace mqota::server::testing {

inline const host::Key& TestKey() {
  static const host::Key key =
      host::Key::Load(mqota::testing::VectorPath("ecdsa-p256-test-key.pem").string());
  return key;
}

inline CatalogOptions TrustingTestKey() {
  CatalogOptions options;
  options.trusted_keys.push_back({image::SignatureType::kEcdsaP256, TestKey().PublicKeyDer()});
  return options;
}

// An image of `payload_bytes` pseudo-random bytes (seeded by the version, so
// versions differ), header 0x400, signed with TestKey() unless `key` says
// otherwise (nullptr: hash only).
inline std::vector<uint8_t> SignedImage(image::ImageVersion version, size_t payload_bytes,
                                        const host::Key* key = &TestKey()) {
  host::SignOptions o;
  o.header_size = 0x400;
  o.pad_header = true;
  o.version = version;
  o.align = 8;
  o.slot_size = static_cast<uint32_t>(payload_bytes + 0x10000);
  const uint32_t seed = version.major * 65536u + version.minor * 256u + version.revision;
  return host::BuildSignedImage(mqota::testing::PseudoRandomBytes(payload_bytes, seed), o, key);
}

// `payload` signed as `version`, as SignedImage does.
inline std::vector<uint8_t> SignedPayload(image::ImageVersion version,
                                          const std::vector<uint8_t>& payload) {
  host::SignOptions o;
  o.header_size = 0x400;
  o.pad_header = true;
  o.version = version;
  o.align = 8;
  o.slot_size = static_cast<uint32_t>(payload.size() + 0x10000);
  return host::BuildSignedImage(payload, o, &TestKey());
}

}  // namespace mqota::server::testing
