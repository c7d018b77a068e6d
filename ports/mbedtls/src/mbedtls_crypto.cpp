#include "mqota/ports/mbedtls/mbedtls_crypto.h"

#include <mbedtls/ecdsa.h>
#include <mbedtls/ecp.h>

#include <algorithm>
#include <array>

#include "mqota/ports/der_signature.h"

namespace mqota::ports {
namespace {

// A P-256 SubjectPublicKeyInfo with an uncompressed point is these 26 bytes
// followed by the 65-byte point (0x04 || X || Y): SEQUENCE { SEQUENCE {
// id-ecPublicKey, prime256v1 }, BIT STRING (0 unused bits) }. Matching the
// prefix instead of parsing ASN.1 keeps mbedTLS's pk, oid and md modules out
// of the firmware (MCUboot does the same); any other encoding of a key is
// refused, as the only keys this backend needs are P-256 ones.
constexpr std::array<uint8_t, 26> kP256SpkiPrefix = {
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01,
    0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00};
constexpr size_t kP256PointBytes = 65;

// The point of a P-256 SubjectPublicKeyInfo, or an empty span.
std::span<const uint8_t> P256Point(std::span<const uint8_t> spki) {
  if (spki.size() != kP256SpkiPrefix.size() + kP256PointBytes ||
      !std::equal(kP256SpkiPrefix.begin(), kP256SpkiPrefix.end(), spki.begin())) {
    return {};
  }
  return spki.subspan(kP256SpkiPrefix.size());
}

}  // namespace

MbedtlsCrypto::MbedtlsCrypto() : sha_{} {
  MbedtlsPlatformSetup();
  mbedtls_sha256_init(&sha_);
}
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
  const std::span<const uint8_t> point = P256Point(public_key_der);
  if (!der || point.empty()) return image::SignatureCheck::kInvalid;

  // The bignums inside allocate through mbedtls_calloc: the C heap on the
  // host, a static pool on a device (MbedtlsPlatformSetup). Everything is
  // freed before returning.
  mbedtls_ecdsa_context ecdsa;
  mbedtls_ecdsa_init(&ecdsa);
  // mbedtls_ecdsa_read_signature checks the point is on the curve only when
  // told to: mbedtls_ecp_check_pubkey does, as mbedTLS's key parser would.
  const bool valid =
      mbedtls_ecp_group_load(&ecdsa.grp, MBEDTLS_ECP_DP_SECP256R1) == 0 &&
      mbedtls_ecp_point_read_binary(&ecdsa.grp, &ecdsa.Q, point.data(), point.size()) == 0 &&
      mbedtls_ecp_check_pubkey(&ecdsa.grp, &ecdsa.Q) == 0 &&
      mbedtls_ecdsa_read_signature(&ecdsa, digest.data(), digest.size(), der->data(),
                                   der->size()) == 0;
  mbedtls_ecdsa_free(&ecdsa);
  return valid ? image::SignatureCheck::kValid : image::SignatureCheck::kInvalid;
}

}  // namespace mqota::ports
