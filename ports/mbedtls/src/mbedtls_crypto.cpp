#include "mqota/ports/mbedtls/mbedtls_crypto.h"

#include <mbedtls/ecp.h>
#include <mbedtls/pk.h>

#include "mqota/ports/der_signature.h"

namespace mqota::ports {

MbedtlsCrypto::MbedtlsCrypto() : sha_{} { mbedtls_sha256_init(&sha_); }
MbedtlsCrypto::~MbedtlsCrypto() { mbedtls_sha256_free(&sha_); }

void MbedtlsCrypto::Sha256Start() { mbedtls_sha256_starts_ret(&sha_, /*is224=*/0); }

void MbedtlsCrypto::Sha256Update(std::span<const uint8_t> data) {
  mbedtls_sha256_update_ret(&sha_, data.data(), data.size());
}

void MbedtlsCrypto::Sha256Finish(image::Sha256Digest digest) {
  mbedtls_sha256_finish_ret(&sha_, digest.data());
}

image::SignatureCheck MbedtlsCrypto::Verify(image::SignatureType type,
                                            std::span<const uint8_t> public_key_der,
                                            image::ConstSha256Digest digest,
                                            std::span<const uint8_t> signature) {
  if (type != image::SignatureType::kEcdsaP256) return image::SignatureCheck::kUnsupported;
  const auto der = TrimDerSignaturePadding(signature);
  if (!der) return image::SignatureCheck::kInvalid;

  mbedtls_pk_context pk;
  mbedtls_pk_init(&pk);
  bool valid = false;
  if (mbedtls_pk_parse_public_key(&pk, public_key_der.data(), public_key_der.size()) == 0 &&
      mbedtls_pk_get_type(&pk) == MBEDTLS_PK_ECKEY &&
      mbedtls_pk_ec(pk)->grp.id == MBEDTLS_ECP_DP_SECP256R1) {
    valid = mbedtls_pk_verify(&pk, MBEDTLS_MD_SHA256, digest.data(), digest.size(), der->data(),
                              der->size()) == 0;
  }
  mbedtls_pk_free(&pk);
  return valid ? image::SignatureCheck::kValid : image::SignatureCheck::kInvalid;
}

}  // namespace mqota::ports
