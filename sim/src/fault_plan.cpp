#include "fault_plan.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace mqota::sim {
namespace {

// The devices that get one fault kind: the first round(share x N) of a
// seeded shuffle of all indices.
std::vector<bool> Pick(double share, size_t devices, uint64_t seed) {
  std::vector<bool> chosen(devices, false);
  const auto count =
      static_cast<size_t>(std::llround(std::clamp(share, 0.0, 1.0) * static_cast<double>(devices)));
  std::vector<size_t> order(devices);
  std::iota(order.begin(), order.end(), size_t{0});
  SplitMix64 random(seed);
  for (size_t i = 0; i < count; ++i) {
    std::swap(order[i], order[i + random.Below(devices - i)]);
    chosen[order[i]] = true;
  }
  return chosen;
}

}  // namespace

uint64_t SplitMix64::Next() {
  uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

double SplitMix64::Between(double low, double high) {
  return low + (high - low) * static_cast<double>(Next() >> 11) * 0x1.0p-53;
}

std::vector<DeviceFaults> PlanFaults(const FaultOptions& options, size_t devices) {
  // One stream per fault kind, so changing one share leaves the others'
  // devices where they were.
  const uint64_t seed = options.seed;
  const auto drop = Pick(options.drop_share, devices, seed ^ 0x64726f70);
  const auto power = Pick(options.power_cut_share, devices, seed ^ 0x706f7772);
  const auto swap = Pick(options.swap_cut_share, devices, seed ^ 0x73776170);
  const auto slow =
      Pick(options.flash_op_us > 0 ? options.slow_flash_share : 0.0, devices, seed ^ 0x736c6f77);
  const auto late =
      Pick(options.latency_ms > 0 ? options.latency_share : 0.0, devices, seed ^ 0x6c617465);
  std::vector<DeviceFaults> plan(devices);
  SplitMix64 moments(seed ^ 0x6d6f6d73);
  for (size_t i = 0; i < devices; ++i) {
    DeviceFaults& f = plan[i];
    // Well inside the download: something is stored, and something is left.
    const double drop_at = moments.Between(0.2, 0.8);
    const double power_at = moments.Between(0.2, 0.8);
    if (drop[i]) f.drop_at = drop_at;
    if (power[i]) f.power_cut_at = power_at;
    f.swap_cut = swap[i];
    f.slow_flash = slow[i];
    f.latency = late[i];
    f.seed = moments.Next();
  }
  return plan;
}

}  // namespace mqota::sim
