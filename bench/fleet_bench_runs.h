// The fleet benchmark's measurements, each on a stage of its own
// (fleet_bench_stage.h): a fan-out (a campaign of one wave for every device,
// beside a raw libmosquitto fan-out of the same bytes), with each device's
// push latency, and a halt (a canary that reverts a hanging image).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "fleet_bench_baseline.h"
#include "fleet_bench_stage.h"
#include "mqota/sim/fleet_sim.h"

namespace mqota::bench {

inline constexpr uint32_t kNudgesPerSecond = 200;  // mqota-server's (server/README.md)

struct FanoutSpec {
  size_t devices = 100;
  uint32_t image_payload = 1024 * 1024 - 0x400 - 300;  // ~1 MiB image: 256 chunks
  bool baseline = true;                                // also the raw fan-out
  std::chrono::seconds timeout{60};                    // for the whole rollout
  BrokerLimits broker;
  uint32_t server_queue = 0;  // 0: mqota-server's default
};

struct FanoutMeasure {
  size_t devices = 0;
  size_t image_bytes = 0;
  uint32_t chunks = 0;
  size_t pending = 0, confirmed = 0;  // devices that got there (of `devices`)
  double to_pending_s = 0;            // the campaign's creation to the last pending
  double to_confirmed_s = 0;          // ... to the last confirmed
  double api_call_ms = 0;             // POST /api/v1/campaigns, sent to returned
  // Per device that asked: its first "asked" after the call was sent, from
  // the call's return; sorted.
  std::vector<double> push_ms;
  std::optional<FanoutResult> baseline;         // best of a run before and after ours
  std::vector<double> baseline_runs_s;          // each run
  ProcessStats server;                          // sampled before it stopped
  sim::FleetSummary summary;                    // stalls and retries
  uint64_t stalled = 0;                         // "stalled" events (sessions that ended short)
  std::map<std::string, size_t> stall_reasons;  // their reasons
  size_t queue_drops = 0;                       // server log: request queue full
  int64_t registry_events = -1;                 // rows the server recorded
  std::string error;                            // the rollout did not finish in time
};

FanoutMeasure MeasureFanout(const FanoutSpec& spec, const host::Key& key);

struct HaltMeasure {
  bool ok = false;
  std::string error;
  int64_t reverted_ms = 0;  // the canary's bootloader reverted (device wall clock)
  int64_t halted_ms = 0;    // the campaign log's "halted"
  double created_to_reverted_s = 0;
  size_t offered = 0;  // devices that were offered the bad image (1: the canary)
  std::string reason;  // the campaign's status_reason
};

HaltMeasure MeasureHalt(size_t devices, uint32_t image_payload, const host::Key& key);

// The p-th percentile (0..100) of sorted values, nearest rank; 0 when empty.
double Percentile(const std::vector<double>& sorted, double p);
// What the nudge rate alone costs the p-th percentile of `devices`: device k
// (in nudge order) is nudged at the floor(k / 200)-th tick, one second apart.
double NudgeFloorMs(size_t devices, double p);

}  // namespace mqota::bench
