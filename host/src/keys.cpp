#include "mqota/host/keys.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cstring>

#include "mqota/host/command_error.h"
#include "mqota/host/files.h"

namespace mqota::host {
namespace {

struct BioFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;

std::string ReadBio(BIO* bio) {
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(size));
}

// Refuses OpenSSL's interactive passphrase prompt: keys must be unencrypted.
int NoPassphrase(char*, int, int, void*) { return -1; }

// Names the key's algorithm for the "unsupported key" message.
std::string DescribeKey(EVP_PKEY* key) {
  const int id = EVP_PKEY_get_base_id(key);
  if (id == EVP_PKEY_EC) {
    char group[64] = {};
    size_t len = 0;
    EVP_PKEY_get_group_name(key, group, sizeof group, &len);
    return std::string("EC key on curve ") + group;
  }
  if (id == EVP_PKEY_RSA) return "RSA-" + std::to_string(EVP_PKEY_get_bits(key)) + " key";
  const char* name = OBJ_nid2sn(id);
  return std::string(name ? name : "unknown") + " key";
}

KeyType TypeOf(EVP_PKEY* key, const std::string& path) {
  if (EVP_PKEY_get_base_id(key) == EVP_PKEY_ED25519) return KeyType::kEd25519;
  if (EVP_PKEY_get_base_id(key) == EVP_PKEY_EC) {
    char group[64] = {};
    size_t len = 0;
    if (EVP_PKEY_get_group_name(key, group, sizeof group, &len) == 1 &&
        std::strcmp(group, "prime256v1") == 0) {
      return KeyType::kEcdsaP256;
    }
  }
  throw UsageError(path + ": unsupported key type (" + DescribeKey(key) +
                   "); mqota signs with ecdsa-p256 or ed25519");
}

}  // namespace

KeyType ParseKeyType(const std::string& name) {
  if (name == "ecdsa-p256") return KeyType::kEcdsaP256;
  if (name == "ed25519") return KeyType::kEd25519;
  throw UsageError("unsupported key type '" + name + "'; use ecdsa-p256 or ed25519");
}

image::SignatureType SignatureTypeOf(KeyType type) {
  return type == KeyType::kEcdsaP256 ? image::SignatureType::kEcdsaP256
                                     : image::SignatureType::kEd25519;
}

void Key::Free::operator()(evp_pkey_st* key) const { EVP_PKEY_free(key); }

Key::Key(evp_pkey_st* key, KeyType type, bool has_private)
    : key_(key, Free{}), type_(type), has_private_(has_private) {}

Key Key::Load(const std::string& path) {
  const std::vector<uint8_t> pem = ReadFile(path);
  const std::string text(pem.begin(), pem.end());
  if (text.find("-----BEGIN ENCRYPTED PRIVATE KEY-----") != std::string::npos ||
      text.find("Proc-Type: 4,ENCRYPTED") != std::string::npos) {
    throw UsageError(path + ": the key is password-protected, which mqota does not support");
  }
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio.get(), nullptr, NoPassphrase, nullptr);
  bool has_private = key != nullptr;
  if (!key) {
    BIO_reset(bio.get());
    key = PEM_read_bio_PUBKEY(bio.get(), nullptr, NoPassphrase, nullptr);
  }
  ERR_clear_error();
  if (!key) throw UsageError(path + ": not a PEM private or public key");
  Key loaded(key, KeyType::kEcdsaP256, has_private);
  loaded.type_ = TypeOf(key, path);
  return loaded;
}

Key Key::Generate(KeyType type) {
  EVP_PKEY* key = type == KeyType::kEcdsaP256 ? EVP_EC_gen("P-256")
                                              : EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  if (!key) throw CommandError(kExitUsage, "key generation failed");
  return Key(key, type, true);
}

const char* Key::short_name() const { return type_ == KeyType::kEcdsaP256 ? "ecdsa" : "ed25519"; }

std::vector<uint8_t> Key::PublicKeyDer() const {
  unsigned char* der = nullptr;
  const int len = i2d_PUBKEY(key_.get(), &der);
  if (len <= 0) throw CommandError(kExitUsage, "cannot encode the public key");
  std::vector<uint8_t> out(der, der + len);
  OPENSSL_free(der);
  return out;
}

std::string Key::PublicKeyPem() const {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PUBKEY(bio.get(), key_.get());
  return ReadBio(bio.get());
}

std::array<uint8_t, 32> Key::PublicKeyHash() const {
  const auto der = PublicKeyDer();
  std::array<uint8_t, 32> hash{};
  unsigned int len = 0;
  EVP_Digest(der.data(), der.size(), hash.data(), &len, EVP_sha256(), nullptr);
  return hash;
}

std::string Key::PrivateKeyPem() const {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!has_private_ || PEM_write_bio_PKCS8PrivateKey(bio.get(), key_.get(), nullptr, nullptr, 0,
                                                     nullptr, nullptr) != 1) {
    throw CommandError(kExitUsage, "cannot encode the private key");
  }
  return ReadBio(bio.get());
}

std::vector<uint8_t> Key::SignImage(std::span<const uint8_t> hashed_region,
                                    image::ConstSha256Digest digest) const {
  if (!has_private_) {
    throw UsageError("Cannot sign with a public-only PEM; signing requires the private key.");
  }
  // ECDSA-with-SHA-256 over the region equals ECDSA over its digest; Ed25519
  // signs the digest itself as the message (MCUboot's hash-then-sign).
  const std::span<const uint8_t> message =
      type_ == KeyType::kEcdsaP256 ? hashed_region : std::span<const uint8_t>(digest);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  size_t len = 0;
  std::vector<uint8_t> signature;
  bool ok = ctx &&
            EVP_DigestSignInit(ctx, nullptr, type_ == KeyType::kEcdsaP256 ? EVP_sha256() : nullptr,
                               nullptr, key_.get()) == 1 &&
            EVP_DigestSign(ctx, nullptr, &len, message.data(), message.size()) == 1;
  if (ok) {
    signature.resize(len);
    ok = EVP_DigestSign(ctx, signature.data(), &len, message.data(), message.size()) == 1;
    signature.resize(len);
  }
  EVP_MD_CTX_free(ctx);
  if (!ok) throw CommandError(kExitUsage, "signing failed");
  return signature;
}

}  // namespace mqota::host
