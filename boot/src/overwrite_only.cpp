#include "mqota/boot/overwrite_only.h"

#include <algorithm>
#include <array>

namespace mqota::boot {
namespace {

bool AllErased(std::span<const uint8_t> bytes, uint8_t erased) {
  return std::all_of(bytes.begin(), bytes.end(), [erased](uint8_t b) { return b == erased; });
}

// Copies [offset, offset + size) from `from` to the same offsets in `to`
// (erased beforehand). Chunks that read fully erased are skipped: after the
// erase the destination already holds exactly those bytes.
BootStatus CopyRange(const flash::FlashArea& from, const flash::FlashArea& to, uint32_t offset,
                     uint32_t size) {
  std::array<uint8_t, kCopyBufferBytes> buffer{};
  const uint32_t end = offset + size;
  for (uint32_t at = offset; at < end;) {
    const uint32_t n = std::min<uint32_t>(kCopyBufferBytes, end - at);
    const auto chunk = std::span(buffer).first(n);
    MQOTA_TRY(Check(from.Read(at, chunk)));
    if (!AllErased(chunk, from.erased_value())) MQOTA_TRY(Check(to.Write(at, chunk)));
    at += n;
  }
  return {};
}

// Erases the sectors of `area` that intersect [0, size).
BootStatus EraseSectorsUpTo(const flash::FlashArea& area, uint32_t size) {
  for (uint32_t i = 0; i < area.sector_count(); ++i) {
    const auto sector = area.SectorByIndex(i);
    if (!sector || sector->offset_bytes >= size) break;
    MQOTA_TRY(Check(area.Erase(sector->offset_bytes, sector->size_bytes)));
  }
  return {};
}

}  // namespace

bool OverwriteOnly::IsCompatible(const SwapContext& context) const {
  // Copies keep offsets, so the primary must be at least as large; sector
  // layouts may differ (each area is erased by its own sectors).
  return context.primary.size_bytes() >= context.secondary.size_bytes() &&
         Trailer(context.primary, context.trailer).IsUsable() &&
         Trailer(context.secondary, context.trailer).IsUsable();
}

uint32_t OverwriteOnly::MaxImageSize(const SwapContext& context) const {
  // Up to the swap_info cell (MCUboot: slot - 40 with M = 8): the bytes above
  // it hold the flags and magic this algorithm writes.
  return context.secondary.size_bytes() - context.trailer.swap_info_from_end();
}

BootResult<ResumeResult> OverwriteOnly::Resume(const SwapContext&) {
  // Nothing to resume: an interrupted copy left the request in place.
  return ResumeResult{};
}

BootStatus OverwriteOnly::Swap(const SwapContext& context, SwapType, uint32_t copy_size) {
  const flash::FlashArea& primary = context.primary;
  const flash::FlashArea& secondary = context.secondary;
  const Trailer primary_trailer(primary, context.trailer);
  if (fast_) {
    // Whole write units: the image's length need not be a multiple of W.
    copy_size = AlignUp(copy_size, context.trailer.write_size);
    MQOTA_TRY(EraseSectorsUpTo(primary, copy_size));
    MQOTA_TRY(primary_trailer.EraseSectors());
    MQOTA_TRY(CopyRange(secondary, primary, 0, copy_size));
    // The primary now holds a complete image. Its magic lets the application
    // use the trailer (set_confirmed); there is nothing to revert to, so
    // nothing else is written (MCUboot's fast variant does the same).
    MQOTA_TRY(primary_trailer.WriteMagic());
  } else {
    MQOTA_TRY(EraseSectorsUpTo(primary, primary.size_bytes()));
    // The whole slot, the secondary's trailer included: the primary ends with
    // the request's magic and image_ok, as MCUboot's default overwrite does.
    MQOTA_TRY(CopyRange(secondary, primary, 0, secondary.size_bytes()));
  }
  // Only now withdraw the request: the header first (the image is gone), then
  // the trailer. A cut in between leaves a trailer without an image, which the
  // bootloader recognises and scrubs.
  const auto first = secondary.SectorByIndex(0);
  if (!first) return BootError{BootErrc::kBadGeometry, {}};
  MQOTA_TRY(Check(secondary.Erase(first->offset_bytes, first->size_bytes)));
  return Trailer(secondary, context.trailer).EraseSectors();
}

}  // namespace mqota::boot
