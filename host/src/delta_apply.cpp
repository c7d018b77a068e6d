// `mqota delta apply` runs the device decoder itself, over RAM flash, so the
// host tool and the device can never disagree about what a patch means.
#include <array>

#include "mqota/delta/decoder.h"
#include "mqota/delta/verify.h"
#include "mqota/flash/flash_area.h"
#include "mqota/flash/ram_flash.h"
#include "mqota/host/delta_encoder.h"
#include "mqota/ports/openssl/openssl_crypto.h"

namespace mqota::host {
namespace {

// A RAM chip of `sectors` sectors of one block each: every block boundary is
// a sector boundary, as the decoder requires.
struct RamChip {
  RamChip(uint32_t block_bytes, uint32_t sectors)
      : runs{{{sectors, block_bytes}}},
        storage(size_t{sectors} * block_bytes),
        device(flash::FlashGeometry{runs, 1, 0xFF}, storage) {}
  std::array<flash::SectorRun, 1> runs;
  std::vector<uint8_t> storage;
  flash::RamFlash device;
};

}  // namespace

delta::DeltaResult<delta::PatchHeader> ReadPatchHeader(std::span<const uint8_t> patch) {
  if (patch.size() < delta::kPatchHeaderBytes) {
    if (patch.size() >= 4 && patch[0] != 0x4d)
      return delta::DeltaError{delta::DeltaErrc::kBadMagic};
    return delta::DeltaError{delta::DeltaErrc::kCorrupt};
  }
  return delta::ParsePatchHeader(patch.first<delta::kPatchHeaderBytes>());
}

delta::DeltaResult<AppliedDelta> ApplyDeltaPatch(std::span<const uint8_t> source,
                                                 std::span<const uint8_t> patch,
                                                 size_t piece_bytes) {
  MQOTA_TRY_ASSIGN(const auto header, ReadPatchHeader(patch));
  const uint32_t b = header.block_bytes;
  const auto source_sectors = static_cast<uint32_t>((source.size() + b - 1) / b);
  RamChip old_chip(b, source_sectors == 0 ? 1 : source_sectors);
  std::copy(source.begin(), source.end(), old_chip.storage.begin());
  RamChip new_chip(b, header.block_count);
  const flash::FlashArea old_area(old_chip.device, 0, old_chip.device.size_bytes());
  const flash::FlashArea new_area(new_chip.device, 0, new_chip.device.size_bytes());
  // The source must be exactly the patch's: a longer file whose first bytes
  // match is another image.
  if (source.size() != header.source_size_bytes) {
    return delta::DeltaError{delta::DeltaErrc::kSourceMismatch};
  }

  ports::OpensslCrypto crypto;
  delta::Decoder decoder(old_area, new_area);
  decoder.StartFresh();
  if (piece_bytes == 0) piece_bytes = 1;
  for (size_t at = 0; at < patch.size();) {
    auto piece = patch.subspan(at, std::min(piece_bytes, patch.size() - at));
    while (!piece.empty()) {
      MQOTA_TRY_ASSIGN(const auto progress, decoder.Feed(piece));
      piece = piece.subspan(progress.consumed_bytes);
      at += progress.consumed_bytes;
      if (progress.event == delta::FeedEvent::kHeaderParsed) {
        MQOTA_TRY(delta::CheckSource(old_area, decoder.header(), crypto));
      }
    }
  }
  if (!decoder.done()) return delta::DeltaError{delta::DeltaErrc::kCorrupt};
  MQOTA_TRY(delta::CheckTarget(new_area, header, crypto));
  AppliedDelta applied;
  applied.header = header;
  applied.target.assign(new_chip.storage.begin(),
                        new_chip.storage.begin() + header.target_size_bytes);
  return applied;
}

}  // namespace mqota::host
