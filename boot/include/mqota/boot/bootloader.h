// The bootloader core (docs/spec/mcuboot-trailer.md#boot-procedure): finish
// an interrupted swap, or decide from the trailers what this boot must do,
// validate before moving a byte, run the upgrade algorithm, validate the
// primary, and report what happened so the application can tell the server
// (an upgrade, a revert, a rejected image and why) — something MCUboot does
// not offer (mcu-tools/mcuboot#2644).
#pragma once

#include <cstdint>
#include <optional>
#include <span>

#include "mqota/boot/error.h"
#include "mqota/boot/swap_algorithm.h"
#include "mqota/image/crypto.h"
#include "mqota/image/error.h"
#include "mqota/image/layout.h"
#include "mqota/image/validate.h"

namespace mqota::boot {

enum class DowngradePolicy : uint8_t {
  kAllow,              // any valid image may be installed
  kByVersion,          // refuse TEST/PERM of a lower version (default)
  kBySecurityCounter,  // refuse TEST/PERM of a lower SEC_CNT (missing = 0)
};

// A monotonic counter in tamper-resistant storage (OTP, a locked flash page),
// for hardware rollback protection
// (docs/spec/mcuboot-trailer.md#downgrade-and-rollback-protection). Optional.
class SecurityCounterStore {
 public:
  virtual BootResult<uint32_t> Read() = 0;
  // Raises the stored counter to `value` (never lowers it).
  virtual BootStatus Raise(uint32_t value) = 0;

 protected:
  ~SecurityCounterStore() = default;
};

struct BootConfig {
  SwapContext context;
  // nullptr: upgrades disabled, the primary boots as it is.
  SwapAlgorithm* algorithm = nullptr;
  image::CryptoBackend* crypto = nullptr;
  std::span<const image::TrustedKey> trusted_keys;
  DowngradePolicy downgrade = DowngradePolicy::kByVersion;
  SecurityCounterStore* security_counter = nullptr;
  // Development builds only: accept images whose hash is right but that carry
  // no trusted signature (the reference example shipped this way; mqota's
  // default does not).
  bool require_signature = true;
};

// Why this boot refused the image in the secondary slot.
enum class RejectReason : uint8_t {
  kNone,
  kInvalid,    // failed validation (see image_error); the slot was erased
  kDowngrade,  // valid, but older than the running image; the slot was erased
  kRollback,   // SEC_CNT below the device's stored counter; the slot was erased
  kNoImage,    // a request without an image (leftover trailer); the trailer was erased
};

const char* Describe(RejectReason reason);

struct BootOutcome {
  // The swap this boot performed or finished: kNone, kTest (new image on
  // trial), kPerm, kRevert (the trial image was not confirmed).
  SwapType swap = SwapType::kNone;
  // The swap had been interrupted (power cut, reset) and was finished now.
  bool resumed = false;
  RejectReason rejected = RejectReason::kNone;
  image::ImageError image_error{};         // when rejected == kInvalid
  image::ImageVersion rejected_version{};  // when the rejected image had a readable header
  // After a swap (test, perm or revert): the version of the image it moved
  // out of the primary, read from its header, now in the secondary slot. A
  // revert names the trial image that was not confirmed, which is what the
  // application reports to the server. Empty when no swap happened or the
  // algorithm leaves nothing behind (overwrite-only).
  std::optional<image::ImageVersion> previous_version;

  // The image that boots now.
  image::ImageLayout layout{};
  // False while the image runs on trial: unless the application confirms it,
  // the next boot reverts it.
  bool confirmed = true;
};

// One boot. Errors: kNoBootableImage (the primary does not validate; the
// caller halts or enters recovery, it must not jump), kRollback, kFlash (a
// flash operation failed: a retry after reset resumes where this stopped).
BootResult<BootOutcome> Boot(const BootConfig& config);

}  // namespace mqota::boot
