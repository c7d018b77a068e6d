// One simulated device's flash: a single NOR chip (RAM underneath, the NOR
// model's write-once rule and power cuts on top) holding the primary slot,
// the secondary slot, the bootloader's scratch area and the agent's download
// journal, sized for the fleet's images rather than the virtual board's
// 1.75 MiB slots (1000 devices x 2 slots must fit in RAM).
//
//   [primary: N sectors][secondary: N sectors][scratch: 4][journal: 2]
//
// Slow flash does not sleep: a worker thread serves hundreds of devices, and
// one sleeping device would stall them all. Each write and erased sector adds
// to a debt the device pays by staying busy (its events wait) for that long.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "mqota/boot/trailer_format.h"
#include "mqota/flash/flash_area.h"
#include "mqota/flash/nor_flash_model.h"
#include "mqota/flash/ram_flash.h"

namespace mqota::sim {

struct FlashLayout {
  static constexpr uint32_t kSectorBytes = 4096;
  static constexpr uint32_t kWriteBytes = 8;
  static constexpr uint32_t kScratchSectors = 4;
  static constexpr uint32_t kJournalSectors = 2;

  uint32_t slot_sectors = 0;

  // The smallest layout whose slots take an image of `image_bytes` with every
  // swap algorithm: the trailer, and swap-move's spare sector, come on top.
  static FlashLayout ForImage(uint32_t image_bytes);

  uint32_t slot_bytes() const { return slot_sectors * kSectorBytes; }
  uint32_t secondary_offset() const { return slot_bytes(); }
  uint32_t scratch_offset() const { return 2 * slot_bytes(); }
  uint32_t journal_offset() const { return scratch_offset() + kScratchSectors * kSectorBytes; }
  uint32_t chip_bytes() const { return journal_offset() + kJournalSectors * kSectorBytes; }
  boot::TrailerGeometry trailer() const { return {kWriteBytes, 8, slot_sectors}; }
  // What the download may fill: the secondary slot below its trailer.
  uint32_t usable_slot_bytes() const { return slot_bytes() - trailer().trailer_bytes(); }
};

// A FlashDevice that charges time for every write and erased sector.
class CostedFlash final : public flash::FlashDevice {
 public:
  explicit CostedFlash(flash::FlashDevice& inner) : FlashDevice(inner.geometry()), inner_(inner) {}
  void set_cost_us(uint32_t per_operation) { cost_us_ = per_operation; }
  // The time charged since the last call, in microseconds.
  uint64_t TakeDebtUs();

 private:
  flash::FlashStatus DoRead(uint32_t offset, std::span<uint8_t> out) override;
  flash::FlashStatus DoWrite(uint32_t offset, std::span<const uint8_t> data) override;
  flash::FlashStatus DoErase(uint32_t offset, uint32_t size_bytes) override;

  flash::FlashDevice& inner_;
  uint32_t cost_us_ = 0;
  uint64_t debt_us_ = 0;
};

class DeviceFlash {
 public:
  // A chip of `layout`, erased, with `primary_image` in the primary slot (as
  // a factory programs it). `flash_op_us`: the cost of each operation.
  DeviceFlash(const FlashLayout& layout, std::span<const uint8_t> primary_image,
              uint32_t flash_op_us);
  DeviceFlash(const DeviceFlash&) = delete;
  DeviceFlash& operator=(const DeviceFlash&) = delete;

  const FlashLayout& layout() const { return layout_; }
  flash::NorFlashModel& nor() { return nor_; }
  const flash::FlashArea& primary() const { return primary_; }
  const flash::FlashArea& secondary() const { return secondary_; }
  const flash::FlashArea& scratch() const { return scratch_; }
  const flash::FlashArea& journal() const { return journal_; }
  uint64_t TakeDebtUs() { return costed_.TakeDebtUs(); }

  // The first `bytes` of the primary slot, read past the NOR model (which
  // refuses reads while its power is cut).
  std::vector<uint8_t> PrimaryBytes(size_t bytes) const;

 private:
  FlashLayout layout_;
  std::array<flash::SectorRun, 1> runs_;
  std::vector<uint8_t> storage_;
  std::vector<uint8_t> programmed_;
  flash::RamFlash ram_;
  flash::NorFlashModel nor_;
  CostedFlash costed_;
  flash::FlashArea primary_, secondary_, scratch_, journal_;
};

}  // namespace mqota::sim
