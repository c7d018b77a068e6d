// CryptoBackend on mbedTLS, the crypto library microcontrollers use (and the
// one MCUboot builds with). SHA-256 and ECDSA P-256; no Ed25519 (mbedTLS 2.x
// has none), so Ed25519 images report kUnsupported.
//
// Memory: mbedTLS's bignum code allocates through mbedtls_calloc. On the host
// that is the C heap; the Cortex-M4 build (cortex-m4/README.md) configures
// MBEDTLS_PLATFORM_MEMORY with a static pool (memory_buffer_alloc), as MCUboot
// does, so the "no heap after start-up" rule holds on the device. Which of the
// two is decided by the build, through MbedtlsPlatformSetup below.
//
// Only mbedTLS's ecdsa, ecp, bignum, asn1 and sha256 modules are used: the
// firmware's verification-only config (cortex-m4/mbedtls_config.h) has no pk,
// oid or md.
#pragma once

#include <mbedtls/sha256.h>

#include "mqota/image/crypto.h"

namespace mqota::ports {

// Prepares mbedTLS's memory before first use; idempotent. The host build
// links a version that does nothing (libc's calloc), the Cortex-M4 build one
// that hands mbedTLS a static pool (src/static_pool.cpp). Called by
// MbedtlsCrypto's constructor.
void MbedtlsPlatformSetup();

class MbedtlsCrypto final : public image::CryptoBackend {
 public:
  MbedtlsCrypto();
  ~MbedtlsCrypto();
  MbedtlsCrypto(const MbedtlsCrypto&) = delete;
  MbedtlsCrypto& operator=(const MbedtlsCrypto&) = delete;

  void Sha256Start() override;
  void Sha256Update(std::span<const uint8_t> data) override;
  void Sha256Finish(image::Sha256Digest digest) override;
  image::SignatureCheck Verify(image::SignatureType type, std::span<const uint8_t> public_key_der,
                               image::ConstSha256Digest digest,
                               std::span<const uint8_t> signature) override;

 private:
  mbedtls_sha256_context sha_;
};

}  // namespace mqota::ports
