// The agent's patch sessions (docs/spec/mqota-protocol.md#patches): the job
// offered a patch from the running image, so the device pulls the patch
// instead of the image and applies it as it arrives. One request at a time:
// the decoder takes the patch in order and the device keeps no second
// buffer, and a patch is small. After a reset it resumes at the journal's
// checkpoint; a patch that cannot make the image here is given up for the
// full image, which the next session fetches at once.
#include <algorithm>

#include "mqota/agent/agent.h"

namespace mqota::agent {

bool Agent::TakesPatches() const {
  return config_.patches != nullptr && !status_.patch_refused && UseDeviceTopics() &&
         config_.running_image_digest.size() == image::kSha256DigestBytes;
}

void Agent::StartPatch(uint64_t now_ms) {
  const uint32_t granule = PullGranuleBytes();
  status_.pull = true;
  status_.patch = true;
  status_.patch_bytes = job_.patch_size_bytes;
  status_.crc = config_.chunk_crc && job_.chunk_crc32c;
  window_ = 1;
  slots_ = {};
  cursor_ = 0;
  DownloadId id;
  id.version = job_.version;
  id.total_size_bytes = job_.patch_size_bytes;
  id.granule_bytes = granule;
  std::copy_n(job_.patch_sha256.begin(), id.tag.size(), id.tag.begin());
  const auto begun = store_.BeginPatch(id);
  if (!begun.ok()) {
    if (begun.error().code == DownloadErrc::kFlash) return FailOnFlash(now_ms);
    return EndPatch({PatchErrc::kUnusable, delta::DeltaErrc::kGeometry}, now_ms);
  }
  PatchTarget target;
  target.version = job_.version;
  target.size_bytes = job_.image_size_bytes;
  target.max_size_bytes = secondary_.size_bytes() - trailer_.trailer_bytes();
  const auto from = config_.patches->Begin(*begun, target);
  if (!from.ok()) return EndPatch(from.error(), now_ms);
  download_begun_ = true;
  total_size_ = job_.patch_size_bytes;
  granule_bytes_ = granule;
  patch_offset_ = *from;
  status_.patch_offset_at_start = *from;
  status_.chunk_bytes = granule;
  status_.granule_count = (total_size_ + granule - 1) / granule;
  status_.granules_present = patch_offset_ / granule;
  status_.granules_at_start = status_.granules_present;
  slots_[0] = Slot{true, 0, 0, 0, 0};
  SendChunkRequest(0, now_ms);
  UpdatePullDeadline(now_ms);
}

void Agent::HandlePatchChunk(std::span<const uint8_t> payload, const ChunkHeader& h,
                             std::span<const uint8_t> data, uint64_t now_ms) {
  Slot& slot = slots_[0];
  // Only the piece asked for: a late duplicate of an earlier one is not
  // applied twice.
  if (!slot.used || h.total_size != total_size_ || h.image_offset != patch_offset_ ||
      data.empty()) {
    ++status_.bad_chunks;
    return;
  }
  if (status_.crc && !ChunkCrcMatches(payload, h)) {
    ++status_.bad_chunks;
    ++status_.crc_errors;
    if (Resend(0, now_ms)) UpdatePullDeadline(now_ms);
    return;
  }
  if (slot.sends == 1) {  // Karn: only an answer to a request sent once
    SampleRoundTrip(static_cast<uint32_t>(std::min<uint64_t>(now_ms - slot.sent_ms, UINT32_MAX)));
  }
  slot.used = false;
  const auto applied = config_.patches->Apply(data, store_);
  if (!applied.ok()) return EndPatch(applied.error(), now_ms);
  patch_offset_ += static_cast<uint32_t>(data.size());
  status_.granules_present = (patch_offset_ + granule_bytes_ - 1) / granule_bytes_;
  if (*applied == PatchStep::kDone) return FinishDownload(now_ms);
  if (patch_offset_ >= total_size_) {
    // Every byte of the patch, and still blocks missing: a truncated patch.
    return EndPatch({PatchErrc::kUnusable, delta::DeltaErrc::kCorrupt}, now_ms);
  }
  MaybeSendProgress(now_ms);
  slot = Slot{true, 0, 0, 0, 0};
  SendChunkRequest(0, now_ms);
  UpdatePullDeadline(now_ms);
}

// A flash failure keeps the journal (the cause may be a power cut, and the
// next session resumes); anything else gives the patch up for the full image.
void Agent::EndPatch(const PatchError& error, uint64_t now_ms) {
  if (error.code == PatchErrc::kFlash) return FailOnFlash(now_ms);
  status_.patch_refused = true;
  status_.patch_error = error;
  (void)store_.Forget();
  EndSession(SessionEnd::kPatchUnusable, now_ms);
}

void Agent::FailOnFlash(uint64_t now_ms) {
  SendResult(false, outcome::kFailed, job_.version, "flash error");
  EndSession(SessionEnd::kFlashError, now_ms);
}

}  // namespace mqota::agent
