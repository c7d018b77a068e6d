// mqota-fleet-sim's command line: the options, their checks, and the fleet
// they describe. Private to the executable.
#pragma once

#include <CLI/CLI.hpp>
#include <optional>
#include <string>
#include <vector>

#include "mqota/sim/fleet_sim.h"

namespace mqota::sim {

struct SimCommandLine {
  size_t devices = 10;
  std::string id_prefix = "sim-";
  std::string board = "MQOTA_VIRTUAL_BOARD";
  std::string version = "1.0.0";
  uint32_t image_size = 64 * 1024;
  std::string image_file;
  std::string sign_key;
  std::vector<std::string> trust_keys;
  uint32_t max_image_size = 0;
  std::string swap = "scratch";
  std::string broker = "127.0.0.1";
  bool tls = false;
  std::string certs_dir;
  std::string prefix = "mqota";
  unsigned threads = 0;
  double ramp_s = 0;
  double duration_s = 0;
  std::string until_version;
  double check_interval_s = 10;
  double watchdog_s = 3;
  uint64_t seed = 1;
  double drop_share = 0, power_cut_share = 0, swap_cut_share = 0;
  std::vector<std::string> hang_versions;
  uint32_t flash_op_us = 0;
  double slow_flash_share = 1;
  uint32_t latency_ms = 0;
  double latency_share = 1;
  int progress_step = 10;
  std::string events_file;
};

void AddOptions(CLI::App& app, SimCommandLine& o);

// The fleet the command line describes: keys loaded, the initial image
// signed (or read). Throws host::CommandError (usage) naming the problem.
FleetOptions MakeFleetOptions(const SimCommandLine& o);

// --until-version, parsed (nullopt without it).
std::optional<image::ImageVersion> UntilVersion(const SimCommandLine& o);

}  // namespace mqota::sim
