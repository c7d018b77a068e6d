#include "scratch_plan.h"

namespace mqota::boot {

uint32_t FirstTrailerSectorOffset(const flash::FlashArea& slot, const TrailerGeometry& geometry) {
  const auto sector = slot.SectorContaining(slot.size_bytes() - geometry.trailer_bytes());
  return sector ? sector->offset_bytes : 0;
}

uint32_t MaxImageBytes(const SwapContext& context) {
  const uint32_t trailer_offset = context.primary.size_bytes() - context.trailer.trailer_bytes();
  const auto sector = context.primary.SectorContaining(trailer_offset);
  if (!sector) return 0;
  // The region ending with this sector copies its image part through the
  // scratch next to the scratch trailer; when the slot trailer leaves less
  // room in the sector than the scratch trailer takes, the image must stop
  // short by the difference or its tail would land on the scratch log.
  const uint32_t trailer_in_sector = sector->offset_bytes + sector->size_bytes - trailer_offset;
  const uint32_t scratch_trailer = ScratchGeometry(context.trailer).trailer_bytes();
  const uint32_t padding =
      scratch_trailer > trailer_in_sector ? scratch_trailer - trailer_in_sector : 0;
  return trailer_offset > padding ? trailer_offset - padding : 0;
}

}  // namespace mqota::boot
