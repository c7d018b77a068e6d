// The fleet benchmark's stage: everything one measurement runs on, built in
// a temporary directory and torn down with it. A real mosquitto (on a
// configuration written here, printed by BrokerConfigText), the real
// mqota-server binary as a child process in campaign mode (its registry in
// the directory, its API on loopback), and a simulated fleet (sim::FleetSim,
// in this process) whose every event is kept with its wall-clock time.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "mqota/host/child_process.h"
#include "mqota/host/keys.h"
#include "mqota/image/version.h"
#include "mqota/sim/fleet_sim.h"
#include "mqota/testing/broker.h"
#include "mqota/testing/files.h"

namespace mqota::bench {

inline constexpr char kFleetBoard[] = "MQOTA_VIRTUAL_BOARD";

// Polls `done` every `step` until it holds or `timeout` passes.
bool WaitFor(const std::function<bool()>& done, std::chrono::milliseconds timeout,
             std::chrono::milliseconds step = std::chrono::milliseconds(100));
// A whole text file ("" when it cannot be read).
std::string ReadText(const std::filesystem::path& path);

struct BrokerLimits {
  // `mqota broker-config`'s for the default window of 8: 20 and 1000.
  int max_inflight = 20;
  // What `mqota broker-config` writes for 1000 devices: twice the window
  // (8) for each (cli/broker/broker_config_text.cpp, LimitsFor).
  int max_queued = 16000;
};

// The mosquitto.conf lines that matter for the numbers, one per line.
std::string BrokerConfigText(const BrokerLimits& limits);

struct StageOptions {
  size_t devices = 10;
  uint32_t image_payload = 256 * 1024;  // bytes of each image's payload
  // Catalog images besides the 1.0.0 every device runs at the start.
  std::vector<image::ImageVersion> catalog = {{1, 1, 0, 0}};
  std::vector<image::ImageVersion> hang;  // versions that never confirm
  // Long: the devices ask only when nudged (or after a reset).
  uint32_t check_interval_ms = 600000;
  uint32_t watchdog_ms = 1000;
  // Devices power on at this rate: their first asks (one each) must not
  // overflow the server's request queue, or they stay unknown to the
  // registry until their next poll.
  uint32_t boots_per_second = 100;
  BrokerLimits broker;
  uint32_t server_queue = 0;  // mqota-server --queue; 0: its default (256)
};

// A child process's counters, from /proc/<pid>.
struct ProcessStats {
  uint64_t peak_rss_bytes = 0;  // VmHWM
  double cpu_seconds = 0;       // utime + stime
};
std::optional<ProcessStats> ReadProcessStats(pid_t pid);

// Wall clock, ms since the Unix epoch (as sim events and the registry).
int64_t WallMs();
// "2024-06-10T12:34:56.789Z" -> ms since the Unix epoch; nullopt if not that.
std::optional<int64_t> ParseIsoMs(const std::string& text);

class Stage {
 public:
  // Starts the broker and the server (waits, bounded, until its API
  // answers). Throws std::runtime_error with a reason and the server's log.
  Stage(const StageOptions& options, const host::Key& key);
  ~Stage();
  Stage(const Stage&) = delete;
  Stage& operator=(const Stage&) = delete;

  // Powers the fleet on and waits (at most `timeout`) until the registry
  // knows every device online at 1.0.0. Throws when it does not.
  void StartFleet(std::chrono::milliseconds timeout);

  // The HTTP API with the server's token; throws on a transport error or a
  // status >= 400 (with the answer's "error").
  nlohmann::json Api(const std::string& method, const std::string& path,
                     const nlohmann::json& body = nullptr);
  // POST /api/v1/campaigns: the campaign, and the wall clock when the call
  // was sent and when it returned.
  struct Created {
    int64_t id = 0;
    int64_t sent_ms = 0;
    int64_t returned_ms = 0;
  };
  Created CreateCampaign(const nlohmann::json& body);

  sim::FleetSim& fleet() { return *fleet_; }
  int broker_port() const { return broker_->port(); }
  std::vector<sim::SimEvent> Events() const;  // a copy, in arrival order
  const StageOptions& options() const { return options_; }
  const std::vector<uint8_t>& image(const image::ImageVersion& v) const;

  // The server's counters now (before it exits).
  ProcessStats ServerStats() const;
  // Stops the fleet, then the server (SIGTERM); returns its stats sampled
  // just before. Idempotent (later calls return the same).
  ProcessStats StopServer();
  // Lines of the server's log containing `needle`.
  size_t ServerLogCount(const std::string& needle) const;
  std::string ServerLogTail() const;
  // Rows of the registry's events table (after StopServer).
  int64_t RegistryEvents() const;

 private:
  StageOptions options_;
  const host::Key& key_;
  testing::TempDir dir_;
  std::unique_ptr<testing::MosquittoBroker> broker_;
  std::vector<std::pair<image::ImageVersion, std::vector<uint8_t>>> images_;
  int api_port_ = 0;
  std::string token_;
  std::optional<host::ChildProcess> server_;
  std::optional<ProcessStats> final_stats_;
  sim::EventLog log_;
  mutable std::mutex mutex_;
  std::vector<sim::SimEvent> events_;
  std::optional<sim::FleetSim> fleet_;  // last: stopped before what it uses
};

}  // namespace mqota::bench
