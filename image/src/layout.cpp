#include "mqota/image/layout.h"

#include <array>

#include "mqota/base/endian.h"

namespace mqota::image {
namespace {

struct TlvInfo {
  uint16_t magic;
  uint16_t tlv_tot;
};

ImageResult<TlvInfo> ReadTlvInfo(ImageSource& source, uint32_t offset) {
  std::array<uint8_t, kTlvInfoSizeBytes> bytes{};
  MQOTA_TRY(source.Read(offset, bytes));
  return TlvInfo{LoadLe16(bytes, 0), LoadLe16(bytes, 2)};
}

// Fails with kTooLarge past the caller's limit, kTruncated past the source.
ImageStatus CheckEnd(uint64_t end, uint32_t limit, uint32_t source_size, uint32_t offset) {
  if (limit != 0 && end > limit) return ImageError{ImageErrc::kTooLarge, offset};
  if (end > source_size) return ImageError{ImageErrc::kTruncated, offset};
  return {};
}

}  // namespace

ImageResult<ImageLayout> ParseLayout(ImageSource& source, const LayoutLimits& limits) {
  const uint32_t source_size = source.size_bytes();
  if (source_size < kHeaderSizeBytes) return ImageError{ImageErrc::kTruncated, 0};

  std::array<uint8_t, kHeaderSizeBytes> header_bytes{};
  MQOTA_TRY(source.Read(0, header_bytes));
  ImageLayout layout{};
  layout.header = DecodeHeader(header_bytes);
  const ImageHeader& header = layout.header;
  if (header.magic != kImageMagic) return ImageError{ImageErrc::kBadMagic, kOffMagic};
  if (header.hdr_size < kHeaderSizeBytes) {
    return ImageError{ImageErrc::kHeaderTooSmall, kOffHdrSize};
  }

  // 64-bit sums: a hostile img_size near 4 GiB must not wrap around into a
  // small, plausible-looking end.
  const uint64_t payload_end = uint64_t{header.hdr_size} + header.img_size;
  const uint64_t protected_end = payload_end + header.protect_tlv_size;
  if (protected_end + kTlvInfoSizeBytes > UINT32_MAX) {
    return ImageError{ImageErrc::kSizeOverflow, kOffImgSize};
  }
  const uint32_t limit = limits.max_image_size_bytes;
  MQOTA_TRY(CheckEnd(protected_end + kTlvInfoSizeBytes, limit, source_size, kOffImgSize));
  layout.protected_tlv_offset = static_cast<uint32_t>(payload_end);
  layout.hashed_size = static_cast<uint32_t>(protected_end);
  layout.tlv_offset = layout.hashed_size;

  if (header.protect_tlv_size != 0) {
    MQOTA_TRY_ASSIGN(const TlvInfo prot, ReadTlvInfo(source, layout.protected_tlv_offset));
    if (header.protect_tlv_size < kTlvInfoSizeBytes || prot.magic != kTlvProtectedInfoMagic ||
        prot.tlv_tot != header.protect_tlv_size) {
      return ImageError{ImageErrc::kBadProtectedTlvInfo, layout.protected_tlv_offset};
    }
  }

  MQOTA_TRY_ASSIGN(const TlvInfo info, ReadTlvInfo(source, layout.tlv_offset));
  if (info.magic == kTlvProtectedInfoMagic) {
    // A protected block the header does not account for: its bytes would be
    // outside the hash while claiming to be protected.
    return ImageError{ImageErrc::kBadProtectedTlvInfo, layout.tlv_offset};
  }
  if (info.magic != kTlvInfoMagic || info.tlv_tot < kTlvInfoSizeBytes) {
    return ImageError{ImageErrc::kBadTlvInfo, layout.tlv_offset};
  }
  layout.tlv_size = info.tlv_tot;
  const uint64_t total = uint64_t{layout.tlv_offset} + info.tlv_tot;
  MQOTA_TRY(CheckEnd(total, limit, source_size, layout.tlv_offset));
  layout.total_size = static_cast<uint32_t>(total);
  return layout;
}

}  // namespace mqota::image
