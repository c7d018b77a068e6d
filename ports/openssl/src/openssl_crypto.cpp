#include "mqota/ports/openssl/openssl_crypto.h"

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <cstring>

#include "mqota/ports/der_signature.h"

namespace mqota::ports {
namespace {

struct PkeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX* ctx) const { EVP_PKEY_CTX_free(ctx); }
};

std::unique_ptr<EVP_PKEY, PkeyFree> ParsePublicKey(std::span<const uint8_t> der) {
  const unsigned char* p = der.data();
  std::unique_ptr<EVP_PKEY, PkeyFree> key(d2i_PUBKEY(nullptr, &p, static_cast<long>(der.size())));
  if (key && p != der.data() + der.size()) key.reset();  // trailing bytes: not a clean key
  return key;
}

bool IsP256(EVP_PKEY* key) {
  char group[64] = {};
  size_t len = 0;
  return EVP_PKEY_get_base_id(key) == EVP_PKEY_EC &&
         EVP_PKEY_get_group_name(key, group, sizeof group, &len) == 1 &&
         std::strcmp(group, "prime256v1") == 0;
}

bool VerifyEcdsa(EVP_PKEY* key, image::ConstSha256Digest digest,
                 std::span<const uint8_t> signature) {
  const auto der = TrimDerSignaturePadding(signature);
  if (!der || !IsP256(key)) return false;
  std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> ctx(EVP_PKEY_CTX_new(key, nullptr));
  return ctx && EVP_PKEY_verify_init(ctx.get()) == 1 &&
         EVP_PKEY_CTX_set_signature_md(ctx.get(), EVP_sha256()) == 1 &&
         EVP_PKEY_verify(ctx.get(), der->data(), der->size(), digest.data(), digest.size()) == 1;
}

bool VerifyEd25519(EVP_PKEY* key, image::ConstSha256Digest digest,
                   std::span<const uint8_t> signature) {
  if (EVP_PKEY_get_base_id(key) != EVP_PKEY_ED25519) return false;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  const bool ok =
      ctx && EVP_DigestVerifyInit(ctx, nullptr, nullptr, nullptr, key) == 1 &&
      EVP_DigestVerify(ctx, signature.data(), signature.size(), digest.data(), digest.size()) == 1;
  EVP_MD_CTX_free(ctx);
  return ok;
}

}  // namespace

void OpensslCrypto::MdCtxFree::operator()(evp_md_ctx_st* ctx) const { EVP_MD_CTX_free(ctx); }

OpensslCrypto::OpensslCrypto() : sha_(EVP_MD_CTX_new()) {}
OpensslCrypto::~OpensslCrypto() = default;

void OpensslCrypto::Sha256Start() { EVP_DigestInit_ex(sha_.get(), EVP_sha256(), nullptr); }

void OpensslCrypto::Sha256Update(std::span<const uint8_t> data) {
  EVP_DigestUpdate(sha_.get(), data.data(), data.size());
}

void OpensslCrypto::Sha256Finish(image::Sha256Digest digest) {
  unsigned int len = 0;
  EVP_DigestFinal_ex(sha_.get(), digest.data(), &len);
}

image::SignatureCheck OpensslCrypto::Verify(image::SignatureType type,
                                            std::span<const uint8_t> public_key_der,
                                            image::ConstSha256Digest digest,
                                            std::span<const uint8_t> signature) {
  auto key = ParsePublicKey(public_key_der);
  if (!key) return image::SignatureCheck::kInvalid;
  const bool valid = type == image::SignatureType::kEcdsaP256
                         ? VerifyEcdsa(key.get(), digest, signature)
                         : VerifyEd25519(key.get(), digest, signature);
  return valid ? image::SignatureCheck::kValid : image::SignatureCheck::kInvalid;
}

}  // namespace mqota::ports
