// The crypto seam of the device core: SHA-256 and signature verification.
// The core never links a crypto library itself; a port provides a backend
// (ports/mbedtls for devices, ports/openssl for the host tools).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace mqota::image {

inline constexpr size_t kSha256DigestBytes = 32;
using Sha256Digest = std::span<uint8_t, kSha256DigestBytes>;
using ConstSha256Digest = std::span<const uint8_t, kSha256DigestBytes>;

enum class SignatureType : uint8_t {
  kEcdsaP256,  // TLV 0x22: DER SEQUENCE{r, s} over the SHA-256 digest
  kEd25519,    // TLV 0x24: RFC 8032 Ed25519 with the 32-byte digest as the message
};

enum class SignatureCheck : uint8_t {
  kValid,
  kInvalid,      // wrong signature, malformed signature or malformed key
  kUnsupported,  // this backend does not implement the algorithm
};

class CryptoBackend {
 public:
  // Streaming SHA-256. One computation at a time per backend object; Start()
  // abandons any computation in progress.
  virtual void Sha256Start() = 0;
  virtual void Sha256Update(std::span<const uint8_t> data) = 0;
  virtual void Sha256Finish(Sha256Digest digest) = 0;

  // Verifies `signature` over `digest` with `public_key_der`, a DER
  // SubjectPublicKeyInfo (91 bytes for P-256, 44 for Ed25519). An ECDSA
  // signature may carry trailing zero padding (imgtool --pad-sig).
  virtual SignatureCheck Verify(SignatureType type, std::span<const uint8_t> public_key_der,
                                ConstSha256Digest digest, std::span<const uint8_t> signature) = 0;

  // Convenience: the SHA-256 of one buffer.
  void Sha256(std::span<const uint8_t> data, Sha256Digest digest) {
    Sha256Start();
    Sha256Update(data);
    Sha256Finish(digest);
  }

 protected:
  ~CryptoBackend() = default;
};

}  // namespace mqota::image
