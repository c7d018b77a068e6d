// Signed images on a SwapRig, and one boot through the bootloader, for
// bootloader-level tests (power cuts included).
#pragma once

#include <memory>
#include <optional>

#include "image/keys.h"
#include "image/signer.h"
#include "mqota/boot/bootloader.h"
#include "mqota/ports/mbedtls/mbedtls_crypto.h"
#include "mqota/testing/files.h"
#include "swap_rig.h"

namespace mqota::boot::testing {

class BootRig {
 public:
  BootRig(const RigLayout& layout, SwapAlgorithm* algorithm)
      : rig_(layout),
        key_(cli::Key::Load(mqota::testing::VectorPath("ecdsa-p256-test-key.pem").string())),
        key_der_(key_.PublicKeyDer()),
        trusted_{{image::SignatureType::kEcdsaP256, key_der_}},
        algorithm_(algorithm) {}

  // A signed image of `version` with `payload_bytes` of pseudo-random payload;
  // SEC_CNT `security_counter`, or imgtool's "auto" (from the version).
  std::vector<uint8_t> MakeImage(image::ImageVersion version, uint32_t payload_bytes, uint32_t seed,
                                 const cli::Key* key = nullptr,
                                 std::optional<uint32_t> security_counter = std::nullopt) const {
    cli::SignOptions o;
    o.header_size = 0x400;
    o.pad_header = true;
    o.version = version;
    o.align = rig_.layout().write_size;
    o.slot_size = rig_.secondary().size_bytes();
    o.security_counter = security_counter.value_or(cli::AutoSecurityCounter(version));
    return cli::BuildSignedImage(SwapRig::Image(payload_bytes, seed), o, key ? key : &key_);
  }

  BootConfig Config() {
    context_ = std::make_unique<SwapContext>(rig_.context());
    return BootConfig{*context_, algorithm_,    &crypto_,         trusted_,
                      downgrade, counter_store, require_signature};
  }
  BootResult<BootOutcome> Boot() { return boot::Boot(Config()); }

  SwapRig& rig() { return rig_; }
  DowngradePolicy downgrade = DowngradePolicy::kByVersion;
  SecurityCounterStore* counter_store = nullptr;
  bool require_signature = true;

 private:
  SwapRig rig_;
  cli::Key key_;
  std::vector<uint8_t> key_der_;
  image::TrustedKey trusted_[1];
  SwapAlgorithm* algorithm_;
  ports::MbedtlsCrypto crypto_;
  std::unique_ptr<SwapContext> context_;
};

}  // namespace mqota::boot::testing
