// Signed images on a SwapRig, and one boot through the bootloader, for
// bootloader-level tests (power cuts included).
#pragma once

#include <memory>
#include <optional>

#include "mqota/boot/bootloader.h"
#include "mqota/host/keys.h"
#include "mqota/host/signer.h"
#include "mqota/ports/mbedtls/mbedtls_crypto.h"
#include "mqota/testing/files.h"
#include "swap_rig.h"

namespace mqota::boot::testing {

class BootRig {
 public:
  BootRig(const RigLayout& layout, SwapAlgorithm* algorithm)
      : rig_(layout),
        key_(host::Key::Load(mqota::testing::VectorPath("ecdsa-p256-test-key.pem").string())),
        key_der_(key_.PublicKeyDer()),
        trusted_{{image::SignatureType::kEcdsaP256, key_der_}},
        algorithm_(algorithm) {}

  // A signed image of `version` with `payload_bytes` of pseudo-random payload;
  // SEC_CNT `security_counter`, or imgtool's "auto" (from the version).
  std::vector<uint8_t> MakeImage(image::ImageVersion version, uint32_t payload_bytes, uint32_t seed,
                                 const host::Key* key = nullptr,
                                 std::optional<uint32_t> security_counter = std::nullopt) const {
    host::SignOptions o;
    o.header_size = 0x400;
    o.pad_header = true;
    o.version = version;
    o.align = rig_.layout().write_size;
    o.slot_size = rig_.secondary().size_bytes();
    o.security_counter = security_counter.value_or(host::AutoSecurityCounter(version));
    return host::BuildSignedImage(SwapRig::Image(payload_bytes, seed), o, key ? key : &key_);
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
  host::Key key_;
  std::vector<uint8_t> key_der_;
  image::TrustedKey trusted_[1];
  SwapAlgorithm* algorithm_;
  ports::MbedtlsCrypto crypto_;
  std::unique_ptr<SwapContext> context_;
};

}  // namespace mqota::boot::testing
