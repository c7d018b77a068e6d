// Signing keys for `mqota image`: load, generate, export, sign — on OpenSSL's
// libcrypto. Supported as imgtool names them: ecdsa-p256 and ed25519.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "mqota/image/crypto.h"

struct evp_pkey_st;

namespace mqota::host {

enum class KeyType { kEcdsaP256, kEd25519 };

// "ecdsa-p256" / "ed25519"; throws UsageError for anything else.
KeyType ParseKeyType(const std::string& name);
image::SignatureType SignatureTypeOf(KeyType type);

class Key {
 public:
  // Loads a PEM private key (PKCS#8 or traditional EC) or a PEM public key.
  // Throws UsageError naming the file: unreadable, not a key, encrypted, or of
  // a type mqota does not sign with.
  static Key Load(const std::string& path);
  static Key Generate(KeyType type);

  KeyType type() const { return type_; }
  bool has_private() const { return has_private_; }
  // imgtool's identifier stem: "ecdsa" or "ed25519" (as in ecdsa_pub_key[]).
  const char* short_name() const;

  // DER SubjectPublicKeyInfo: what KEYHASH hashes and a device trusts.
  std::vector<uint8_t> PublicKeyDer() const;
  std::string PublicKeyPem() const;
  // SHA-256 of PublicKeyDer(): the image's KEYHASH.
  std::array<uint8_t, 32> PublicKeyHash() const;
  // Unencrypted PKCS#8 PEM, as `imgtool keygen` writes.
  std::string PrivateKeyPem() const;

  // The image signature TLV value for a hashed region with SHA-256 `digest`:
  // ECDSA P-256 DER over the region (equivalently over the digest); Ed25519
  // over the 32-byte digest (deterministic). Requires has_private().
  std::vector<uint8_t> SignImage(std::span<const uint8_t> hashed_region,
                                 image::ConstSha256Digest digest) const;

 private:
  struct Free {
    void operator()(evp_pkey_st* key) const;
  };
  Key(evp_pkey_st* key, KeyType type, bool has_private);

  std::shared_ptr<evp_pkey_st> key_;
  KeyType type_;
  bool has_private_;
};

}  // namespace mqota::host
