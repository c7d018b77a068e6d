#include "mqota/image/tlv.h"

#include <array>

#include "mqota/base/endian.h"

namespace mqota::image {

TlvIterator::TlvIterator(ImageSource& source, const ImageLayout& layout, Block block)
    : source_(source), protected_(block == Block::kProtected) {
  if (protected_) {
    // An empty protected block (protect_tlv_size == 0) has no info header.
    offset_ =
        layout.protected_tlv_offset + (layout.header.protect_tlv_size == 0 ? 0 : kTlvInfoSizeBytes);
    end_ = layout.protected_tlv_offset + layout.header.protect_tlv_size;
  } else {
    offset_ = layout.tlv_offset + kTlvInfoSizeBytes;
    end_ = layout.tlv_offset + layout.tlv_size;
  }
}

ImageResult<std::optional<TlvEntry>> TlvIterator::Next() {
  if (offset_ >= end_) return std::optional<TlvEntry>{};
  const uint32_t entry_offset = offset_;
  offset_ = end_;  // until proven good, the walk is over
  if (end_ - entry_offset < kTlvEntryHeaderSizeBytes) {
    return ImageError{ImageErrc::kTlvOverrun, entry_offset};
  }
  std::array<uint8_t, kTlvEntryHeaderSizeBytes> bytes{};
  if (auto read = source_.Read(entry_offset, bytes); !read.ok()) return read.error();
  TlvEntry entry{LoadLe16(bytes, 0), LoadLe16(bytes, 2),
                 entry_offset + static_cast<uint32_t>(kTlvEntryHeaderSizeBytes), protected_};
  if (entry.length > end_ - entry.value_offset) {
    return ImageError{ImageErrc::kTlvOverrun, entry_offset};
  }
  offset_ = entry.value_offset + entry.length;
  return std::optional<TlvEntry>{entry};
}

}  // namespace mqota::image
