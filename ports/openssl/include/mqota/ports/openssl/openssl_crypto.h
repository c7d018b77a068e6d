// CryptoBackend on OpenSSL's libcrypto, for host tools (the CLI's verify,
// mqota-server): SHA-256, ECDSA P-256 and Ed25519.
#pragma once

#include <memory>

#include "mqota/image/crypto.h"

struct evp_md_ctx_st;

namespace mqota::ports {

class OpensslCrypto final : public image::CryptoBackend {
 public:
  OpensslCrypto();
  ~OpensslCrypto();
  OpensslCrypto(const OpensslCrypto&) = delete;
  OpensslCrypto& operator=(const OpensslCrypto&) = delete;

  void Sha256Start() override;
  void Sha256Update(std::span<const uint8_t> data) override;
  void Sha256Finish(image::Sha256Digest digest) override;
  image::SignatureCheck Verify(image::SignatureType type, std::span<const uint8_t> public_key_der,
                               image::ConstSha256Digest digest,
                               std::span<const uint8_t> signature) override;

 private:
  struct MdCtxFree {
    void operator()(evp_md_ctx_st* ctx) const;
  };
  std::unique_ptr<evp_md_ctx_st, MdCtxFree> sha_;
};

}  // namespace mqota::ports
