// Applying a delta patch while it downloads (docs/spec/mqota-protocol.md#patches,
// docs/spec/delta-patch.md#applying): the agent hands each piece of the patch
// to a PatchApplier, which decodes it into the secondary slot, reading the
// running image from the primary, and saves a checkpoint in the progress
// journal after every block, so that a power cut resumes at the last block
// rather than at the start.
//
// An interface, so that a firmware that does not take patches links none of
// the decoder: the port that does owns one DeltaPatchApplier (about 6 KiB:
// the decoder's buffers and models) in static storage and gives it to the
// agent in AgentConfig::patches.
#pragma once

#include <cstdint>
#include <optional>
#include <span>

#include "mqota/agent/download_store.h"
#include "mqota/base/result.h"
#include "mqota/delta/decoder.h"
#include "mqota/delta/error.h"
#include "mqota/flash/flash_area.h"
#include "mqota/image/crypto.h"
#include "mqota/image/format.h"

namespace mqota::agent {

// What the job said the patch makes: a patch that makes anything else is
// refused before its first block is written.
struct PatchTarget {
  image::ImageVersion version;   // major.minor.revision must match
  uint32_t size_bytes = 0;       // the job's ImageSize
  uint32_t max_size_bytes = 0;   // the slot below the bootloader's trailer
};

enum class PatchErrc : uint8_t {
  kUnusable,  // this patch cannot make the image here (another source, a
              // corrupt or hostile patch, another target): fetch the full image
  kFlash,     // a flash operation failed: the journal stays, resume later
};

struct PatchError {
  PatchErrc code{};
  delta::DeltaErrc delta{};  // why, for kUnusable (and kFlash from the decoder)
};

enum class PatchStep : uint8_t {
  kMore,  // every byte applied: send the next ones
  kDone,  // the target is complete and its SHA-256 is the patch's
};

class PatchApplier {
 public:
  // Starts the patch from its first byte (no progress), or resumes it from a
  // progress the journal kept. Returns the patch offset to fetch from.
  virtual Result<uint32_t, PatchError> Begin(const std::optional<PatchProgress>& progress,
                                             const PatchTarget& target) = 0;
  // Applies the next patch bytes (from the offset Begin returned, then on),
  // saving a checkpoint in `store` after each block.
  virtual Result<PatchStep, PatchError> Apply(std::span<const uint8_t> bytes,
                                              DownloadStore& store) = 0;

 protected:
  ~PatchApplier() = default;
};

// mqota's delta format (docs/spec/delta-patch.md), with the device decoder.
class DeltaPatchApplier final : public PatchApplier {
 public:
  // The areas and the backend must outlive it; `secondary` is the agent's.
  DeltaPatchApplier(const flash::FlashArea& primary, const flash::FlashArea& secondary,
                    image::CryptoBackend& crypto);

  Result<uint32_t, PatchError> Begin(const std::optional<PatchProgress>& progress,
                                     const PatchTarget& target) override;
  Result<PatchStep, PatchError> Apply(std::span<const uint8_t> bytes,
                                      DownloadStore& store) override;

 private:
  Result<void, PatchError> CheckHeader();
  Result<void, PatchError> SaveCheckpoint(DownloadStore& store);

  flash::FlashArea primary_;
  flash::FlashArea secondary_;
  image::CryptoBackend& crypto_;
  PatchTarget target_{};
  delta::Decoder decoder_;
};

}  // namespace mqota::agent
