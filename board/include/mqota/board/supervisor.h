// The virtual board at run time: power on, run the bootloader, start the
// image it chose, serve the peripherals (LED, watchdog, reset line, UART),
// and start over on every reset, as long as the power is on.
//
// The watchdog is armed at every reset (as the kit's bootloader arms it for
// the application) and bites `watchdog` after the last kick: the board kills
// the application and resets. An application that exits is a halted CPU: the
// watchdog resets it too. SIGTERM or SIGINT switch the power off cleanly;
// SIGKILL is a power cut (the flash files keep what was written).
#pragma once

#include <chrono>
#include <filesystem>
#include <string>

namespace mqota::board {

struct RunOptions {
  std::filesystem::path dir;
  std::chrono::milliseconds watchdog{4000};
  // Power off after this long (0: run until signalled).
  std::chrono::milliseconds power_off_after{0};
  std::string events_path;  // JSON lines (events.h); "" for none
  bool quiet = false;       // no human lines on stdout
  // Time each flash write, and each sector erased, of the bootloader takes
  // (0: file speed).
  std::chrono::microseconds flash_op{0};
};

// Returns the exit status for mqota-board run: 0 after a power-off, 3 when
// nothing is bootable (the board halts, as a real one would, and says why).
// Throws std::runtime_error for a board that cannot even power on (missing
// files).
int RunBoard(const RunOptions& options);

}  // namespace mqota::board
