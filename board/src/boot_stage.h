// Power-on, first half: the bootloader core on the board's flash files. It
// finishes or performs a swap, validates the primary, and hands back what
// the second half needs: the outcome (for the boot record and the log) and
// the application's bytes, read from the primary slot.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "mqota/board/board_config.h"
#include "mqota/boot/bootloader.h"

namespace mqota::board {

struct BootStageResult {
  bool ok = false;
  std::string error;  // when !ok: why nothing can boot
  boot::BootOutcome outcome;
  std::vector<uint8_t> payload;  // the image's payload: the program to run
  std::vector<uint8_t> trusted_key_der;
  // Where in the secondary slot the application writes an update (BoardFacts).
  uint32_t update_offset_bytes = 0;
};

// `flash_op`: how long each write, and each sector erased, takes (0: as fast
// as the file).
BootStageResult RunBootloader(const BoardPaths& paths, const BootloaderConfig& config,
                              std::chrono::microseconds flash_op);

std::string VersionText(const image::ImageVersion& version);

}  // namespace mqota::board
