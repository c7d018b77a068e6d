#include "mqota/boot/bootloader.h"

#include <algorithm>

#include "mqota/boot/swap_type.h"
#include "mqota/image/version.h"

namespace mqota::boot {
namespace {

using image::ImageErrc;

class BootRun {
 public:
  explicit BootRun(const BootConfig& config)
      : config_(config),
        ctx_(config.context),
        primary_trailer_(ctx_.primary, ctx_.trailer),
        secondary_trailer_(ctx_.secondary, ctx_.trailer) {}

  BootResult<BootOutcome> Run() {
    if (config_.algorithm && config_.algorithm->IsCompatible(ctx_)) {
      MQOTA_TRY(Upgrade());
    }
    return FinishWithPrimary();
  }

 private:
  image::ImageResult<image::ValidatedImage> Validate(const flash::FlashArea& area) {
    image::FlashImageSource source(area);
    image::ValidationOptions options;
    options.trusted_keys = config_.trusted_keys;
    options.require_signature = config_.require_signature;
    if (config_.algorithm)
      options.limits.max_image_size_bytes = config_.algorithm->MaxImageSize(ctx_);
    return image::ValidateImage(source, *config_.crypto, options);
  }

  BootStatus Upgrade() {
    MQOTA_TRY_ASSIGN(const ResumeResult resumed, config_.algorithm->Resume(ctx_));
    if (resumed.kind == ResumeKind::kCompleted) {
      outcome_.swap = resumed.type;
      outcome_.resumed = true;
      return {};
    }
    if (resumed.kind == ResumeKind::kRestartNeeded) {
      // Started, but nothing moved yet: the secondary is still intact, so
      // check it again and start over
      // (docs/spec/mcuboot-trailer.md#scratch-status-source).
      outcome_.resumed = true;
      return Start(resumed.type, resumed.type);
    }
    MQOTA_TRY_ASSIGN(const TrailerState primary, primary_trailer_.Read());
    MQOTA_TRY_ASSIGN(const TrailerState secondary, secondary_trailer_.Read());
    const SwapType type = DecideSwapType(primary, secondary);
    if (type == SwapType::kNone) return {};
    // An application's request never carries swap_size; only a bootloader
    // writes it. A PERM request with one is a revert that swap-move turned
    // into a PERM request before re-initialising the primary
    // (docs/spec/mcuboot-trailer.md#revert-fix-up), cut short: it restores the
    // older image on purpose, so it must not meet the downgrade policy, and it
    // is reported as a revert.
    const bool revert_restarted = type == SwapType::kPerm && secondary.swap_size.has_value() &&
                                  secondary.swap_type == SwapType::kNone;
    if (revert_restarted) outcome_.resumed = true;
    return Start(type, revert_restarted ? SwapType::kRevert : type);
  }

  // Validates the secondary for a swap of `type`, then runs it, or withdraws
  // the request when the secondary is not acceptable. `purpose` is what the
  // swap achieves (kRevert for a restarted revert) and decides the checks.
  BootStatus Start(SwapType type, SwapType purpose) {
    const flash::FlashArea source = SecondaryFrom(config_.algorithm->SourceOffset(ctx_, type));
    auto candidate = Validate(source);
    if (!candidate.ok()) return Reject(purpose, candidate.error());
    if (purpose != SwapType::kRevert) {
      MQOTA_TRY_ASSIGN(const bool allowed, DowngradeAllowed(*candidate));
      if (!allowed) return Reject(purpose, RejectReason::kDowngrade, *candidate);
      MQOTA_TRY_ASSIGN(const bool fresh, MeetsStoredCounter(*candidate));
      if (!fresh) return Reject(purpose, RejectReason::kRollback, *candidate);
    }
    // Both images move as far as the longer one reaches.
    uint32_t copy_size = candidate->layout.total_size;
    image::FlashImageSource primary_source(ctx_.primary);
    if (auto primary = image::ParseLayout(primary_source); primary.ok()) {
      copy_size = std::max(copy_size, primary->total_size);
    }
    MQOTA_TRY(config_.algorithm->Swap(ctx_, type, copy_size));
    outcome_.swap = purpose;
    return {};
  }

  // The secondary slot from `offset_bytes` (a sector boundary) to its end:
  // where an algorithm keeps an image that does not start the slot
  // (swap-offset). The trailer stays at the end.
  flash::FlashArea SecondaryFrom(uint32_t offset_bytes) const {
    return flash::FlashArea(ctx_.secondary.device(), ctx_.secondary.offset_bytes() + offset_bytes,
                            ctx_.secondary.size_bytes() - offset_bytes);
  }

  BootStatus Reject(SwapType type, image::ImageError error) {
    if (error.code == ImageErrc::kBadMagic) {
      // A request with no image behind it (a cut between the two erases that
      // withdraw a request, or a stray trailer): erase just the trailer.
      outcome_.rejected = RejectReason::kNoImage;
      MQOTA_TRY(secondary_trailer_.EraseSectors());
    } else {
      outcome_.rejected = RejectReason::kInvalid;
      outcome_.image_error = error;
      // Erase it all: a bad image must not be retried at every boot, and its
      // bytes (perhaps hostile) are worth nothing.
      MQOTA_TRY(Check(ctx_.secondary.Erase(0, ctx_.secondary.size_bytes())));
    }
    return AfterReject(type);
  }

  BootStatus Reject(SwapType type, RejectReason reason, const image::ValidatedImage& image) {
    outcome_.rejected = reason;
    outcome_.rejected_version = image.layout.header.version;
    MQOTA_TRY(Check(ctx_.secondary.Erase(0, ctx_.secondary.size_bytes())));
    return AfterReject(type);
  }

  // A revert whose old image is gone must not be attempted at every boot:
  // confirm what runs instead (MCUboot 33094fc5,
  // docs/spec/mcuboot-trailer.md#rule-8-never-leave-a-request-that-cannot-complete).
  BootStatus AfterReject(SwapType type) {
    if (type == SwapType::kRevert) return primary_trailer_.WriteImageOk();
    return {};
  }

  BootResult<bool> DowngradeAllowed(const image::ValidatedImage& candidate) {
    if (config_.downgrade == DowngradePolicy::kAllow) return true;
    auto running = Validate(ctx_.primary);
    if (!running.ok()) return true;  // nothing valid to protect
    if (config_.downgrade == DowngradePolicy::kByVersion) {
      return image::CompareVersions(candidate.layout.header.version,
                                    running->layout.header.version) >= 0;
    }
    return candidate.security_counter.value_or(0) >= running->security_counter.value_or(0);
  }

  BootResult<bool> MeetsStoredCounter(const image::ValidatedImage& candidate) {
    if (!config_.security_counter) return true;
    MQOTA_TRY_ASSIGN(const uint32_t stored, config_.security_counter->Read());
    return candidate.security_counter.has_value() && *candidate.security_counter >= stored;
  }

  BootResult<BootOutcome> FinishWithPrimary() {
    auto primary = Validate(ctx_.primary);
    if (!primary.ok()) return BootError{BootErrc::kNoBootableImage, {}, primary.error()};
    outcome_.layout = primary->layout;
    // A swap implies an algorithm; the check keeps that visible.
    if (outcome_.swap != SwapType::kNone && config_.algorithm) {
      const flash::FlashArea moved_out =
          SecondaryFrom(config_.algorithm->MovedOutOffset(ctx_, outcome_.swap));
      image::FlashImageSource secondary_source(moved_out);
      if (auto previous = image::ParseLayout(secondary_source); previous.ok()) {
        outcome_.previous_version = previous->header.version;
      }
    }
    MQOTA_TRY_ASSIGN(const TrailerState trailer, primary_trailer_.Read());
    // On trial: the state that row 3 of the swap table reverts.
    outcome_.confirmed =
        !(trailer.magic == MagicState::kGood && trailer.image_ok == FlagState::kUnset &&
          trailer.copy_done == FlagState::kSet);
    if (config_.security_counter) {
      MQOTA_TRY_ASSIGN(const uint32_t stored, config_.security_counter->Read());
      const uint32_t counter = primary->security_counter.value_or(0);
      if (counter < stored) return BootError{BootErrc::kRollback, {}, {}};
      // Raised only for a confirmed image: raising it for an image on trial
      // would make the revert to the older image impossible
      // (docs/spec/mcuboot-trailer.md#rule-5-raise-the-security-counter-only-when-confirmed).
      if (outcome_.confirmed && counter > stored) {
        MQOTA_TRY(config_.security_counter->Raise(counter));
      }
    }
    return outcome_;
  }

  const BootConfig& config_;
  const SwapContext& ctx_;
  Trailer primary_trailer_;
  Trailer secondary_trailer_;
  BootOutcome outcome_;
};

}  // namespace

const char* Describe(RejectReason reason) {
  switch (reason) {
    case RejectReason::kNone: return "none";
    case RejectReason::kInvalid: return "the image failed validation";
    case RejectReason::kDowngrade: return "the image is older than the running one";
    case RejectReason::kRollback: return "the image's security counter is below the device's";
    case RejectReason::kNoImage: return "an update was requested but the slot holds no image";
  }
  return "?";
}

BootResult<BootOutcome> Boot(const BootConfig& config) { return BootRun(config).Run(); }

}  // namespace mqota::boot
