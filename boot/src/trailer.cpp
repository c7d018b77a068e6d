#include "mqota/boot/trailer.h"

#include <algorithm>
#include <array>

#include "mqota/base/endian.h"

namespace mqota::boot {
namespace {

FlagState DecodeFlag(uint8_t byte, uint8_t erased) {
  if (byte == erased) return FlagState::kUnset;
  return byte == kFlagSet ? FlagState::kSet : FlagState::kBad;
}

}  // namespace

const char* Describe(MagicState state) {
  switch (state) {
    case MagicState::kUnset: return "unset";
    case MagicState::kGood: return "good";
    case MagicState::kBad: return "bad";
  }
  return "?";
}

const char* Describe(FlagState state) {
  switch (state) {
    case FlagState::kUnset: return "unset";
    case FlagState::kSet: return "set";
    case FlagState::kBad: return "bad";
  }
  return "?";
}

bool Trailer::IsUsable() const {
  return geometry_.IsValid() && geometry_.write_size == area_.write_alignment_bytes() &&
         area_.size_bytes() >= geometry_.trailer_bytes() &&
         area_.size_bytes() % geometry_.max_align == 0;
}

BootResult<uint8_t> Trailer::ReadByte(uint32_t offset) const {
  std::array<uint8_t, 1> byte{};
  MQOTA_TRY(Check(area_.Read(offset, byte)));
  return byte[0];
}

BootResult<TrailerState> Trailer::Read() const {
  const uint32_t end = area_.size_bytes();
  const uint8_t erased = area_.erased_value();
  TrailerState state;

  std::array<uint8_t, kMagicSizeBytes> magic{};
  MQOTA_TRY(Check(area_.Read(end - kMagicSizeBytes, magic)));
  if (std::all_of(magic.begin(), magic.end(), [erased](uint8_t b) { return b == erased; })) {
    state.magic = MagicState::kUnset;
  } else {
    state.magic = magic == BootMagic(geometry_.max_align) ? MagicState::kGood : MagicState::kBad;
  }

  MQOTA_TRY_ASSIGN(const uint8_t image_ok, ReadByte(end - geometry_.image_ok_from_end()));
  MQOTA_TRY_ASSIGN(const uint8_t copy_done, ReadByte(end - geometry_.copy_done_from_end()));
  MQOTA_TRY_ASSIGN(const uint8_t swap_info, ReadByte(end - geometry_.swap_info_from_end()));
  state.image_ok = DecodeFlag(image_ok, erased);
  state.copy_done = DecodeFlag(copy_done, erased);
  const uint8_t type = swap_info & 0x0f;
  if (swap_info != erased && type >= static_cast<uint8_t>(SwapType::kTest) &&
      type <= static_cast<uint8_t>(SwapType::kRevert)) {
    state.swap_type = static_cast<SwapType>(type);
    state.image_index = static_cast<uint8_t>(swap_info >> 4);
  }

  std::array<uint8_t, 4> size{};
  MQOTA_TRY(Check(area_.Read(end - geometry_.swap_size_from_end(), size)));
  if (!std::all_of(size.begin(), size.end(), [erased](uint8_t b) { return b == erased; })) {
    state.swap_size = LoadLe32(size, 0);
  }
  return state;
}

BootStatus Trailer::WriteCell(uint32_t offset, std::span<const uint8_t> value) const {
  const uint32_t w = geometry_.write_size;
  std::array<uint8_t, kMaxCellBytes> cell{};
  const uint32_t length = AlignUp(static_cast<uint32_t>(value.size()), w);
  std::fill(cell.begin(), cell.end(), area_.erased_value());
  std::copy(value.begin(), value.end(), cell.begin());
  return Check(area_.Write(offset, std::span(cell).first(length)));
}

BootStatus Trailer::WriteMagic() const {
  // The magic is the last 16 bytes; with W > 16 its write starts earlier and
  // carries erased padding first.
  const uint32_t end = area_.size_bytes();
  const uint32_t w = geometry_.write_size;
  const uint32_t offset = (end - kMagicSizeBytes) / w * w;
  std::array<uint8_t, kMaxCellBytes> cell{};
  std::fill(cell.begin(), cell.end(), area_.erased_value());
  const auto magic = BootMagic(geometry_.max_align);
  const uint32_t lead = end - kMagicSizeBytes - offset;
  std::copy(magic.begin(), magic.end(), cell.begin() + lead);
  return Check(area_.Write(offset, std::span(cell).first(end - offset)));
}

BootStatus Trailer::WriteImageOk() const {
  const uint8_t value[] = {kFlagSet};
  return WriteCell(area_.size_bytes() - geometry_.image_ok_from_end(), value);
}

BootStatus Trailer::WriteCopyDone() const {
  const uint8_t value[] = {kFlagSet};
  return WriteCell(area_.size_bytes() - geometry_.copy_done_from_end(), value);
}

BootStatus Trailer::WriteSwapInfo(SwapType type, uint8_t image_index) const {
  const uint8_t value[] = {static_cast<uint8_t>((image_index << 4) | static_cast<uint8_t>(type))};
  return WriteCell(area_.size_bytes() - geometry_.swap_info_from_end(), value);
}

BootStatus Trailer::WriteSwapSize(uint32_t size_bytes) const {
  std::array<uint8_t, 4> value{};
  StoreLe32(value, 0, size_bytes);
  return WriteCell(area_.size_bytes() - geometry_.swap_size_from_end(), value);
}

BootStatus Trailer::WriteStatusEntry(uint32_t index, uint8_t value) const {
  const uint8_t bytes[] = {value};
  return WriteCell(offset_bytes() + index * geometry_.write_size, bytes);
}

BootResult<std::optional<uint8_t>> Trailer::ReadStatusEntry(uint32_t index) const {
  MQOTA_TRY_ASSIGN(const uint8_t value, ReadByte(offset_bytes() + index * geometry_.write_size));
  if (value == area_.erased_value()) return std::optional<uint8_t>{};
  return std::optional<uint8_t>{value};
}

BootStatus Trailer::EraseSectors() const {
  const uint32_t first = offset_bytes();
  auto sector = area_.SectorContaining(area_.size_bytes() - 1);
  while (sector) {
    MQOTA_TRY(Check(area_.Erase(sector->offset_bytes, sector->size_bytes)));
    if (sector->offset_bytes <= first || sector->index == 0) break;
    sector = area_.SectorByIndex(sector->index - 1);
  }
  return {};
}

}  // namespace mqota::boot
