#include "device_flash.h"

#include <algorithm>
#include <stdexcept>

namespace mqota::sim {

FlashLayout FlashLayout::ForImage(uint32_t image_bytes) {
  // The trailer grows with the slot's sector count (its status log has three
  // entries per sector), so iterate until the count holds still.
  FlashLayout layout;
  const uint32_t image_sectors = (image_bytes + kSectorBytes - 1) / kSectorBytes;
  layout.slot_sectors = image_sectors + 2;
  for (;;) {
    const uint32_t trailer = layout.trailer().trailer_bytes();
    const uint32_t needed = image_sectors + (trailer + kSectorBytes - 1) / kSectorBytes + 1;
    if (needed <= layout.slot_sectors) return layout;
    layout.slot_sectors = needed;
  }
}

uint64_t CostedFlash::TakeDebtUs() {
  const uint64_t debt = debt_us_;
  debt_us_ = 0;
  return debt;
}

flash::FlashStatus CostedFlash::DoRead(uint32_t offset, std::span<uint8_t> out) {
  return inner_.Read(offset, out);
}

flash::FlashStatus CostedFlash::DoWrite(uint32_t offset, std::span<const uint8_t> data) {
  debt_us_ += cost_us_;
  return inner_.Write(offset, data);
}

flash::FlashStatus CostedFlash::DoErase(uint32_t offset, uint32_t size_bytes) {
  // Uniform sectors (FlashLayout): one charge per sector erased.
  debt_us_ += static_cast<uint64_t>(cost_us_) * (size_bytes / FlashLayout::kSectorBytes);
  return inner_.Erase(offset, size_bytes);
}

DeviceFlash::DeviceFlash(const FlashLayout& layout, std::span<const uint8_t> primary_image,
                         uint32_t flash_op_us)
    : layout_(layout),
      runs_{{{layout.chip_bytes() / FlashLayout::kSectorBytes, FlashLayout::kSectorBytes}}},
      storage_(layout.chip_bytes()),
      programmed_(flash::NorFlashModel::BitmapBytes({runs_, FlashLayout::kWriteBytes, 0xff})),
      ram_({runs_, FlashLayout::kWriteBytes, 0xff}, storage_),
      nor_(ram_, programmed_),
      costed_(nor_),
      primary_(costed_, 0, layout.slot_bytes()),
      secondary_(costed_, layout.secondary_offset(), layout.slot_bytes()),
      scratch_(costed_, layout.scratch_offset(),
               FlashLayout::kScratchSectors * FlashLayout::kSectorBytes),
      journal_(costed_, layout.journal_offset(),
               FlashLayout::kJournalSectors * FlashLayout::kSectorBytes) {
  if (primary_image.size() > layout.usable_slot_bytes()) {
    throw std::invalid_argument("the image does not fit the primary slot");
  }
  // Programmed in whole write units: the tail padded with the erased value.
  std::vector<uint8_t> padded(primary_image.begin(), primary_image.end());
  padded.resize((padded.size() + FlashLayout::kWriteBytes - 1) / FlashLayout::kWriteBytes *
                    FlashLayout::kWriteBytes,
                0xff);
  if (!primary_.Write(0, padded).ok()) throw std::runtime_error("cannot program the primary slot");
  nor_.ResetCounters();
  costed_.set_cost_us(flash_op_us);
}

std::vector<uint8_t> DeviceFlash::PrimaryBytes(size_t bytes) const {
  const size_t n = std::min<size_t>(bytes, layout_.slot_bytes());
  return {storage_.begin(), storage_.begin() + static_cast<std::ptrdiff_t>(n)};
}

}  // namespace mqota::sim
