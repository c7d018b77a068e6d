// A slot on a NOR-model chip for boot-layer tests: 4 KiB sectors (the
// reference geometry) unless told otherwise.
#pragma once

#include <array>
#include <string>

#include "mqota/boot/trailer.h"
#include "mqota/testing/test_flash.h"

namespace mqota::boot::testing {

struct SlotFlash {
  SlotFlash(uint32_t write_size, uint8_t erased, uint32_t sectors = 8, uint32_t sector_bytes = 4096)
      : runs{{{sectors, sector_bytes}}},
        chip({runs, write_size, erased}),
        area(chip.model(), 0, sectors * sector_bytes) {}
  Trailer MakeTrailer(uint32_t max_align = 8, uint32_t max_sectors = 128) const {
    return Trailer(area, TrailerGeometry{area.write_alignment_bytes(), max_align, max_sectors});
  }
  std::array<flash::SectorRun, 1> runs;
  flash::testing::OwnedNorFlash chip;
  flash::FlashArea area;
};

}  // namespace mqota::boot::testing
