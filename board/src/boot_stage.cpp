#include "boot_stage.h"

#include <array>

#include "mqota/board/layout.h"
#include "mqota/boot/overwrite_only.h"
#include "mqota/boot/swap_move.h"
#include "mqota/boot/swap_offset.h"
#include "mqota/boot/swap_scratch.h"
#include "mqota/host/keys.h"
#include "mqota/image/version.h"
#include "mqota/ports/mbedtls/mbedtls_crypto.h"
#include "mqota/ports/posix/file_flash.h"
#include "mqota/ports/posix/timed_flash.h"

namespace mqota::board {

std::string VersionText(const image::ImageVersion& version) {
  std::array<char, image::kVersionTextBytes> text{};
  const size_t n = image::FormatVersion(version, text);
  std::string out(text.data(), n);
  // "1.1.0", not "1.1.0+0": a build number only when there is one.
  if (version.build == 0 && out.ends_with("+0")) out.resize(out.size() - 2);
  return out;
}

namespace {

// The bootloader is built with one algorithm; the board picks it per its
// configuration (algorithms are stateless objects).
struct Algorithms {
  boot::SwapScratch scratch;
  boot::SwapMove move;
  boot::OverwriteOnly overwrite{false};
  boot::SwapOffset offset;

  boot::SwapAlgorithm* Get(SwapKind kind) {
    switch (kind) {
      case SwapKind::kScratch: return &scratch;
      case SwapKind::kMove: return &move;
      case SwapKind::kOverwrite: return &overwrite;
      case SwapKind::kOffset: return &offset;
    }
    return nullptr;
  }
};

}  // namespace

BootStageResult RunBootloader(const BoardPaths& paths, const BootloaderConfig& config,
                              std::chrono::microseconds flash_op) {
  BootStageResult result;
  auto internal = posix::FileFlash::Open(paths.internal_flash().c_str(), InternalFlashGeometry(),
                                         posix::FileFlashMode::kOpenExisting);
  auto external = posix::FileFlash::Open(paths.external_flash().c_str(), ExternalFlashGeometry(),
                                         posix::FileFlashMode::kOpenExisting);
  if (!internal.ok() || !external.ok()) {
    result.error =
        "flash chip: " + posix::ToString(internal.ok() ? external.error() : internal.error());
    return result;
  }
  posix::TimedFlash internal_chip(*internal, flash_op, flash_op),
      external_chip(*external, flash_op, flash_op);
  const flash::FlashArea primary(internal_chip, kPrimaryOffset, kSlotBytes);
  const flash::FlashArea scratch(internal_chip, kScratchOffset, kScratchBytes);
  const flash::FlashArea secondary(external_chip, kSecondaryOffset, kSlotBytes);
  const boot::SwapContext context{primary, secondary, &scratch, kTrailer, 0};

  try {
    result.trusted_key_der = host::Key::Load(paths.boot_key().string()).PublicKeyDer();
  } catch (const std::exception& e) {
    result.error = std::string("bootloader key: ") + e.what();
    return result;
  }
  const image::TrustedKey trusted[] = {{image::SignatureType::kEcdsaP256, result.trusted_key_der}};
  ports::MbedtlsCrypto crypto;
  Algorithms algorithms;
  boot::BootConfig boot_config{
      context,
      algorithms.Get(config.swap),
      &crypto,
      trusted,
      config.allow_downgrade ? boot::DowngradePolicy::kAllow : boot::DowngradePolicy::kByVersion,
      nullptr,
      true};
  auto outcome = boot::Boot(boot_config);
  if (!outcome.ok()) {
    result.error = boot::Describe(outcome.error().code);
    if (outcome.error().code == boot::BootErrc::kNoBootableImage) {
      result.error +=
          std::string(" (primary slot: ") + image::Describe(outcome.error().image.code) + ")";
    }
    return result;
  }
  result.outcome = *outcome;
  // Where the application must write the next update (swap-offset: one
  // sector into the secondary slot), as a real board's flash map tells it.
  if (boot_config.algorithm && boot_config.algorithm->IsCompatible(context)) {
    result.update_offset_bytes =
        boot_config.algorithm->SourceOffset(context, boot::SwapType::kTest);
  }
  const image::ImageHeader& h = outcome->layout.header;
  result.payload.resize(h.img_size);
  if (!primary.Read(h.hdr_size, result.payload).ok()) {
    result.error = "cannot read the application from the primary slot";
    return result;
  }
  result.ok = true;
  return result;
}

}  // namespace mqota::board
