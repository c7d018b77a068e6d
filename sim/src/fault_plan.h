// Which devices get which fault, decided before the run from --seed alone, so
// a run can be repeated: each fault goes to exactly round(share x N) devices,
// drawn independently per fault kind, and the moment it strikes (how far into
// the download, which flash operation of the swap) is drawn per device.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "mqota/sim/fleet_sim.h"

namespace mqota::sim {

struct DeviceFaults {
  // Fraction of the first download (granules present / granules) at which
  // the network drops the connection, or the power fails.
  std::optional<double> drop_at;
  std::optional<double> power_cut_at;
  // The power fails during the first swap the bootloader performs.
  bool swap_cut = false;
  bool slow_flash = false;  // its flash operations cost FaultOptions::flash_op_us
  bool latency = false;     // it reaches the broker through the delaying proxy
  uint64_t seed = 0;        // its own draws (torn bytes, which operation is cut)
};

std::vector<DeviceFaults> PlanFaults(const FaultOptions& options, size_t devices);

// splitmix64: the sim's only generator, so a seed means the same everywhere.
class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}
  uint64_t Next();
  // Uniform in [0, bound); 0 when bound is 0.
  uint64_t Below(uint64_t bound) { return bound == 0 ? 0 : Next() % bound; }
  // Uniform in [low, high).
  double Between(double low, double high);

 private:
  uint64_t state_;
};

}  // namespace mqota::sim
