// `mqota demo --fleet`: a staged rollout over a simulated fleet, told as it
// happens. It starts its own mosquitto (TLS with a certificate per device,
// or plain), mqota-server with a registry and its API, and N simulated
// devices at 1.0.0 (each the real agent and bootloader core on its own
// flash, sim/). Then, through the API as `mqota fleet` does:
//
//   campaign 1.1.0 in waves (1 canary, then 10 %, 50 %, everyone): each
//   wave opens when the last is confirmed after boot -> completed
//   campaign 1.2.0 (an image that hangs): the canary's watchdog resets it,
//   its bootloader reverts, it reports the revert -> the campaign halts by
//   itself before the next wave, and no other device got 1.2.0
//
// A summary table ends it. Every step has a deadline; a failure names the
// step, stops everything and returns 1.
#pragma once

#include <filesystem>

namespace mqota::cli::demo {

struct FleetDemoOptions {
  bool plain = false;
  int devices = 50;
  std::filesystem::path workdir;  // empty: a temporary directory, removed at the end
  std::filesystem::path bin_dir;  // mqota-server
};

// Returns the process exit code: 0 when the whole story played.
int RunFleetDemo(const FleetDemoOptions& options);

}  // namespace mqota::cli::demo
