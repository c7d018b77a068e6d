#include "mqota/image/digest.h"

#include "mqota/image/format.h"
#include "mqota/image/tlv.h"

namespace mqota::image {

ImageResult<std::array<uint8_t, kSha256DigestBytes>> ReadStatedDigest(ImageSource& source,
                                                                      const LayoutLimits& limits) {
  MQOTA_TRY_ASSIGN(const ImageLayout layout, ParseLayout(source, limits));
  // The hash lives in the unprotected block (imgtool puts it there).
  TlvIterator it(source, layout, TlvIterator::Block::kUnprotected);
  for (;;) {
    MQOTA_TRY_ASSIGN(const std::optional<TlvEntry> entry, it.Next());
    if (!entry) return ImageError{ImageErrc::kNoHash, 0};
    if (entry->type != tlv::kSha256) continue;
    if (entry->length != tlv::kSha256Bytes) {
      return ImageError{ImageErrc::kBadTlvLength, entry->value_offset};
    }
    std::array<uint8_t, kSha256DigestBytes> digest{};
    MQOTA_TRY(source.Read(entry->value_offset, digest));
    return digest;
  }
}

}  // namespace mqota::image
