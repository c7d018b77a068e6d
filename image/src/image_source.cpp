#include "mqota/image/image_source.h"

#include <cstring>

namespace mqota::image {

uint32_t MemoryImageSource::size_bytes() const {
  // Sources beyond 4 GiB cannot hold an MCUboot image; report what a 32-bit
  // offset can address.
  return bytes_.size() > UINT32_MAX ? UINT32_MAX : static_cast<uint32_t>(bytes_.size());
}

ImageStatus MemoryImageSource::Read(uint32_t offset, std::span<uint8_t> out) {
  if (offset > bytes_.size() || out.size() > bytes_.size() - offset) {
    return ImageError{ImageErrc::kReadFailed, offset};
  }
  if (!out.empty()) std::memcpy(out.data(), bytes_.data() + offset, out.size());
  return {};
}

uint32_t FlashImageSource::size_bytes() const { return area_.size_bytes(); }

ImageStatus FlashImageSource::Read(uint32_t offset, std::span<uint8_t> out) {
  if (!area_.Read(offset, out).ok()) return ImageError{ImageErrc::kReadFailed, offset};
  return {};
}

}  // namespace mqota::image
