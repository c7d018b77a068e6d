#include "test_crypto.h"

namespace mqota::selftest {

void HashOnlyCrypto::Sha256Start() { sha_.Start(); }

void HashOnlyCrypto::Sha256Update(std::span<const uint8_t> data) { sha_.Update(data); }

void HashOnlyCrypto::Sha256Finish(image::Sha256Digest digest) { sha_.Finish(digest); }

image::SignatureCheck HashOnlyCrypto::Verify(image::SignatureType type,
                                             std::span<const uint8_t> public_key_der,
                                             image::ConstSha256Digest /*digest*/,
                                             std::span<const uint8_t> signature) {
  ++verify_calls;
  last_type = type;
  last_key_bytes = public_key_der.size();
  last_signature_bytes = signature.size();
  return image::SignatureCheck::kUnsupported;  // no P-256 on the target (yet)
}

image::ValidationOptions HashOnlyOptions() {
  image::ValidationOptions options;
  options.require_signature = false;
  return options;
}

}  // namespace mqota::selftest
