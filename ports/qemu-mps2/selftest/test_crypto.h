// A test double of the image layer's crypto seam: a real SHA-256 (sha256.h,
// independent of mbedTLS) and no signature verification: Verify answers
// kUnsupported and records the call. The checks of parsing and hashing use it;
// signatures are verified with the device's backend, ports/mbedtls
// (image_checks.cpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "mqota/image/crypto.h"
#include "mqota/image/validate.h"
#include "sha256.h"

namespace mqota::selftest {

// Verify records each call, so a check can see that validation reached the
// backend (or did not), with which key and signature.
class HashOnlyCrypto final : public image::CryptoBackend {
 public:
  void Sha256Start() override;
  void Sha256Update(std::span<const uint8_t> data) override;
  void Sha256Finish(image::Sha256Digest digest) override;
  image::SignatureCheck Verify(image::SignatureType type, std::span<const uint8_t> public_key_der,
                               image::ConstSha256Digest digest,
                               std::span<const uint8_t> signature) override;

  uint32_t verify_calls = 0;
  image::SignatureType last_type = image::SignatureType::kEd25519;
  size_t last_key_bytes = 0;
  size_t last_signature_bytes = 0;

 private:
  selftest::Sha256 sha_;  // qualified: CryptoBackend::Sha256 hides the class name
};

// Validation that checks the hash and needs no signature: the development
// switch (require_signature = false), all HashOnlyCrypto can pass.
image::ValidationOptions HashOnlyOptions();

}  // namespace mqota::selftest
