// A fleet of simulated devices in one process, for tests, benchmarks and
// demos: each device is the real agent (device topics on) on its own NOR
// flash model, with its own MQTT connection (its device id as client id and,
// with TLS, its own client certificate), and at every reset the real
// bootloader core on that flash: swap, boot, confirm, or hang -> watchdog ->
// revert. Devices reach a server only over MQTT.
//
// Threads are bounded: K workers (default: the core count) each serve a fixed
// share of the devices, their libmosquitto connections in non-threaded mode
// behind one epoll set, their agents' ticks from one timer heap. A device is
// only ever touched by its own worker.
//
// Faults go to a share of the devices, chosen from `seed` (fault_plan.h).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "mqota/image/validate.h"
#include "mqota/image/version.h"
#include "mqota/sim/sim_event.h"

namespace mqota::sim {

enum class SwapKind { kScratch, kMove, kOverwrite };

struct FaultOptions {
  uint64_t seed = 1;
  double drop_share = 0;        // the connection drops mid-download (once)
  double power_cut_share = 0;   // the power fails mid-download (once); the journal resumes it
  double swap_cut_share = 0;    // the power fails during the bootloader's swap (once)
  uint32_t flash_op_us = 0;     // each write / erased sector costs this long...
  double slow_flash_share = 1;  // ...on this share of the devices
  uint32_t latency_ms = 0;      // each direction of the connection is delayed this long...
  double latency_share = 1;     // ...for this share (through LatencyProxy)
  // Images of these versions hang: never confirmed, the watchdog resets, the
  // bootloader reverts.
  std::vector<image::ImageVersion> hang_versions;
};

struct FleetOptions {
  size_t devices = 10;
  std::string id_prefix = "sim-";  // ids sim-0000, sim-0001, ... (4 digits at least)
  std::string board = "MQOTA_VIRTUAL_BOARD";
  std::string prefix = "mqota";  // topic prefix
  // The signed image every primary slot holds at the start; the slots are
  // sized for images up to `max_image_bytes` (0: 1.25 x this one's size).
  std::vector<uint8_t> initial_image;
  uint32_t max_image_bytes = 0;
  // Keys (DER SubjectPublicKeyInfo) the bootloader and the agent trust.
  std::vector<std::vector<uint8_t>> trusted_keys_der;
  std::vector<image::SignatureType> trusted_key_types;  // one per key
  SwapKind swap = SwapKind::kScratch;

  std::string broker_host = "127.0.0.1";
  int broker_port = 1883;
  // TLS: DIR/ca.crt, and DIR/clients/<id>.crt and .key per device (the
  // layout `mqota certs --out DIR --device ID` makes).
  bool tls = false;
  std::string certs_dir;

  unsigned threads = 0;                // 0: the core count
  std::chrono::milliseconds ramp{0};   // devices power on spread over this
  uint32_t check_interval_ms = 10000;  // the agent's polling interval
  uint32_t job_timeout_ms = 30000;     // the agent's wait for a job or an acknowledgement
  uint32_t watchdog_ms = 3000;         // a hung image is reset after this
  uint32_t install_delay_ms = 300;     // pending -> reset (the result reaches the broker first)
  uint32_t power_off_ms = 200;         // a cut device stays off this long
  int progress_step_percent = 10;      // "downloading" events every this many percent
  FaultOptions faults;
};

// One device, as of its last event.
struct DeviceStatus {
  std::string id;
  image::ImageVersion running{};
  bool confirmed = true;        // false while an image runs on trial
  std::string state;            // the name of its last event ("confirmed", "downloading", ...)
  bool dead = false;            // no bootable image: it never runs again
  uint64_t bytes_received = 0;  // MQTT payload bytes, over all its boots
  uint32_t boots = 0;
  uint32_t power_cuts = 0;        // that struck mid-download
  uint32_t swap_cuts = 0;         // that struck during the bootloader's swap
  uint32_t drops = 0;             // connections the sim dropped
  uint32_t watchdog_resets = 0;   // of a hung image
  uint32_t resumed_granules = 0;  // the most granules a download found in its journal
  uint64_t chunk_requests = 0;    // "Request Data Chunk"s sent, in sessions that ended
  uint64_t chunk_retries = 0;     // of which re-requests (timeouts, bad CRCs, reconnects)
  // Sessions of its agent since the last boot that the server answered
  // (ended other than by a timeout): once one has, the server has heard what
  // the boot did (a boot report opens the first session, and a session
  // goes on only once the report is acknowledged or given up on).
  uint32_t answered_since_boot = 0;
  std::vector<image::ImageVersion> failed_versions;  // reverted, rejected or refused here
};

struct FleetSummary {
  size_t devices = 0;
  double elapsed_s = 0;
  std::map<std::string, size_t> versions;  // running version -> devices
  std::map<std::string, size_t> states;    // last event -> devices
  std::map<std::string, size_t> faults;    // faults that struck -> count
  uint64_t bytes_received = 0;
  uint64_t chunk_requests = 0;
  uint64_t chunk_retries = 0;
  uint64_t events = 0;
};

std::string ToJsonLine(const FleetSummary& summary);
// "<prefix>0007": the index, zero-padded to 4 digits at least.
std::string DeviceId(const std::string& prefix, size_t index);
std::string VersionText(const image::ImageVersion& version);  // "1.1.0", "1.1.0+7"

class FleetSim {
 public:
  // Builds every device (flash programmed with the initial image) and checks
  // the options: throws host::CommandError (a std::runtime_error) with a
  // one-line reason.
  FleetSim(FleetOptions options, EventLog& events);
  ~FleetSim();  // Stop()
  FleetSim(const FleetSim&) = delete;
  FleetSim& operator=(const FleetSim&) = delete;

  // Powers the devices on (spread over `ramp`) and starts the workers.
  void Start();
  // Stops the workers; devices keep their flash for inspection. Idempotent.
  void Stop();

  size_t size() const;
  DeviceStatus status(size_t device) const;  // at any time
  std::vector<DeviceStatus> statuses() const;
  // Waits (polling every 50 ms) until `done` holds for the statuses, or the
  // timeout passes; returns whether it held.
  bool WaitUntil(const std::function<bool(const std::vector<DeviceStatus>&)>& done,
                 std::chrono::milliseconds timeout) const;
  // Every device runs `version` confirmed, or failed with it (and has told
  // the server so: see answered_since_boot), or is dead.
  static bool Settled(const std::vector<DeviceStatus>& statuses,
                      const image::ImageVersion& version);

  // The first `bytes` of a device's primary slot. Only after Stop().
  std::vector<uint8_t> PrimarySlot(size_t device, size_t bytes) const;
  // The port devices with latency connect to (0: no proxy).
  int proxy_port() const;
  FleetSummary Summary() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mqota::sim
