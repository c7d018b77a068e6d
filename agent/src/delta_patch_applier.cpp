#include <algorithm>

#include "mqota/agent/patch_applier.h"
#include "mqota/delta/verify.h"

namespace mqota::agent {
namespace {

PatchError FromDelta(const delta::DeltaError& error) {
  return {error.code == delta::DeltaErrc::kFlash ? PatchErrc::kFlash : PatchErrc::kUnusable,
          error.code};
}

bool SameProtocolVersion(const image::ImageVersion& a, const image::ImageVersion& b) {
  return a.major == b.major && a.minor == b.minor && a.revision == b.revision;
}

}  // namespace

DeltaPatchApplier::DeltaPatchApplier(const flash::FlashArea& primary,
                                     const flash::FlashArea& secondary,
                                     image::CryptoBackend& crypto)
    : primary_(primary), secondary_(secondary), crypto_(crypto), decoder_(primary_, secondary_) {}

Result<uint32_t, PatchError> DeltaPatchApplier::Begin(const std::optional<PatchProgress>& progress,
                                                      const PatchTarget& target) {
  target_ = target;
  if (!progress) {
    decoder_.StartFresh();
    return uint32_t{0};
  }
  // The journal's CRC vouches for these bytes; a header or checkpoint that
  // does not fit anyway is a journal of something else: start over.
  const auto header = delta::ParsePatchHeader(progress->header);
  if (!header.ok()) return FromDelta(header.error());
  const auto resumed = decoder_.Resume(*header, progress->checkpoint);
  if (!resumed.ok()) return FromDelta(resumed.error());
  MQOTA_TRY(CheckHeader());
  return progress->checkpoint.patch_offset;
}

// The patch must make the image the job offered, inside the slot, from the
// image this device runs; otherwise nothing of it is written.
Result<void, PatchError> DeltaPatchApplier::CheckHeader() {
  const delta::PatchHeader& h = decoder_.header();
  if (h.target_size_bytes != target_.size_bytes || h.target_size_bytes > target_.max_size_bytes ||
      !SameProtocolVersion(h.target_version, target_.version)) {
    return PatchError{PatchErrc::kUnusable, delta::DeltaErrc::kGeometry};
  }
  const auto source = delta::CheckSource(primary_, h, crypto_);
  if (!source.ok()) return FromDelta(source.error());
  return {};
}

Result<void, PatchError> DeltaPatchApplier::SaveCheckpoint(DownloadStore& store) {
  PatchProgress progress;
  delta::EncodePatchHeader(decoder_.header(), progress.header);
  progress.checkpoint = decoder_.checkpoint();
  if (!store.SavePatchProgress(progress).ok()) {
    return PatchError{PatchErrc::kFlash, delta::DeltaErrc::kFlash};
  }
  return {};
}

Result<PatchStep, PatchError> DeltaPatchApplier::Apply(std::span<const uint8_t> bytes,
                                                       DownloadStore& store) {
  while (!bytes.empty()) {
    const auto fed = decoder_.Feed(bytes);
    if (!fed.ok()) return FromDelta(fed.error());
    bytes = bytes.subspan(fed->consumed_bytes);
    switch (fed->event) {
      case delta::FeedEvent::kNeedMore: break;
      case delta::FeedEvent::kHeaderParsed: MQOTA_TRY(CheckHeader()); break;
      case delta::FeedEvent::kBlockDone: MQOTA_TRY(SaveCheckpoint(store)); break;
      case delta::FeedEvent::kDone: {
        if (!bytes.empty()) return PatchError{PatchErrc::kUnusable, delta::DeltaErrc::kTrailingBytes};
        const auto target = delta::CheckTarget(secondary_, decoder_.header(), crypto_);
        if (!target.ok()) return FromDelta(target.error());
        return PatchStep::kDone;
      }
    }
  }
  return PatchStep::kMore;
}

}  // namespace mqota::agent
