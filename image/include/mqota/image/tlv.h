// Walks the entries of one TLV block without copying it: each step reads one
// 4-byte entry header and checks that the whole entry lies inside the block.
#pragma once

#include <cstdint>
#include <optional>

#include "mqota/image/error.h"
#include "mqota/image/image_source.h"
#include "mqota/image/layout.h"

namespace mqota::image {

struct TlvEntry {
  uint16_t type;
  uint16_t length;
  uint32_t value_offset;  // offset of the value in the image
  bool is_protected;
};

class TlvIterator {
 public:
  enum class Block : uint8_t { kProtected, kUnprotected };

  // Iterates the given block of an image whose layout ParseLayout checked.
  TlvIterator(ImageSource& source, const ImageLayout& layout, Block block);

  // The next entry, nullopt at the end of the block, or kTlvOverrun /
  // kReadFailed. After an error the iterator stays at the end.
  ImageResult<std::optional<TlvEntry>> Next();

 private:
  ImageSource& source_;
  uint32_t offset_;
  uint32_t end_;
  bool protected_;
};

}  // namespace mqota::image
