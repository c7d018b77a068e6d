// One simulated device: what a microcontroller with mqota does, on a worker's
// time. Power on runs the bootloader core on the device's flash (a swap when
// an image is pending, a revert when a trial image was not confirmed), then
// the application: the agent, its MQTT connection, and the health check that
// confirms an image on trial once the broker is reached again, as
// app/ota_task.cpp does, including its boot-record-to-report mapping. An
// image of a hang version never gets that far: the watchdog resets it and the
// bootloader reverts it.
//
// A reset or a power cut destroys everything in RAM (agent, download state,
// connection); only the flash survives, and the next boot starts from it.
#pragma once

#include <array>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "device_flash.h"
#include "fault_plan.h"
#include "mqota/agent/agent.h"
#include "mqota/boot/boot_record.h"
#include "mqota/boot/overwrite_only.h"
#include "mqota/boot/swap_move.h"
#include "mqota/boot/swap_scratch.h"
#include "mqota/ports/openssl/openssl_crypto.h"
#include "mqota/ports/posix/mqtt_transport.h"
#include "mqota/sim/fleet_sim.h"
#include "pooled_mqtt.h"
#include "worker.h"

namespace mqota::sim {

// What every device shares (read-only while the fleet runs).
struct FleetContext {
  const FleetOptions& options;
  FlashLayout layout;
  std::vector<image::TrustedKey> trusted;  // views of options.trusted_keys_der
  EventLog& events;
  uint64_t start_ms = 0;      // NowMs() at Start
  int64_t start_wall_ms = 0;  // the wall clock then
  int proxy_port = 0;         // 0: no latency proxy
};

class SimDevice final : public Serviced, public agent::Transport {
 public:
  SimDevice(const FleetContext& fleet, size_t index, const DeviceFaults& faults);
  SimDevice(const SimDevice&) = delete;
  SimDevice& operator=(const SimDevice&) = delete;

  const std::string& id() const { return id_; }
  // Before the worker starts: its epoll set, this device's tag there, and
  // when it is first powered on.
  void Attach(int epoll_fd, uint64_t tag, uint64_t power_on_ms);
  uint64_t Service(uint32_t io_events, uint64_t now_ms) override;
  // After the worker has stopped: the connection goes, the flash stays.
  void Shutdown();

  DeviceStatus status() const;
  std::vector<uint8_t> PrimaryBytes(size_t bytes) const { return flash_.PrimaryBytes(bytes); }

  // agent::Transport: nothing leaves a device without power or connection.
  bool Subscribe(std::string_view topic) override;
  bool Unsubscribe(std::string_view topic) override;
  bool Publish(std::string_view topic, std::span<const uint8_t> payload) override;

 private:
  enum class Phase { kOff, kRunning, kHung, kDead };
  enum class ResetCause { kPowerOn, kSoftware, kWatchdog };

  // device_boot.cpp: power, bootloader, resets.
  void PowerOn(uint64_t now_ms);
  bool SwapRequested();
  void ArmSwapCut();
  void StartApplication(const boot::BootRecord& record, bool on_trial, uint64_t now_ms);
  void QueueBootReport(const boot::BootRecord& record, bool on_trial, uint64_t now_ms);
  void Reset(ResetCause cause, const char* why, uint64_t now_ms);
  void PowerCut(const char* phase, uint64_t now_ms);
  void StopApplication();
  boot::SwapAlgorithm* Algorithm();

  // sim_device.cpp: the application.
  void RunApplication(uint64_t now_ms);
  void FeedMessages(uint64_t now_ms);
  void ConfirmTrial(uint64_t now_ms);
  void Observe(uint64_t now_ms);
  void InjectDownloadFaults(const agent::AgentStatus& s, uint64_t now_ms);
  void PayFlashDebt(uint64_t now_ms);
  uint64_t NextWake(uint64_t now_ms) const;
  agent::AgentConfig AgentConfig();
  MqttEndpoint Endpoint() const;
  // Writes the event and, unless it is only informative, makes it the
  // device's state.
  void Emit(std::string_view name, uint64_t now_ms, const std::string& version = {},
            std::optional<int> percent = std::nullopt, const std::string& reason = {});
  template <typename F>
  void Update(F change) {
    std::lock_guard lock(status_mutex_);
    change(status_);
  }

  const FleetContext& fleet_;
  const std::string id_;
  const DeviceFaults faults_;
  DeviceFlash flash_;
  std::vector<uint8_t> granule_bitmap_;
  ports::OpensslCrypto crypto_;
  posix::RandomEntropy entropy_;
  boot::SwapScratch swap_scratch_;
  boot::SwapMove swap_move_;
  boot::OverwriteOnly overwrite_{true};
  int epoll_fd_ = -1;
  uint64_t tag_ = 0;

  Phase phase_ = Phase::kOff;
  ResetCause reset_cause_ = ResetCause::kPowerOn;
  uint64_t power_on_at_ms_ = 0;
  uint64_t watchdog_at_ms_ = 0;
  uint64_t busy_until_ms_ = 0;  // slow flash: the device works until then
  image::ImageVersion running_{};
  // Its SHA256 TLV (told to the server); empty when the primary states none.
  std::array<uint8_t, image::kSha256DigestBytes> running_digest_{};
  bool running_digest_known_ = false;

  // The application, rebuilt at every boot.
  std::optional<PooledMqtt> mqtt_;
  std::optional<agent::DownloadStore> store_;
  std::optional<agent::Agent> agent_;
  bool agent_started_ = false;  // its clock starts at the first connection
  bool trial_ = false;          // on trial: confirm once the broker is reached
  uint64_t reset_at_ms_ = 0;    // pending: reset then
  agent::AgentState seen_state_ = agent::AgentState::kIdle;
  uint32_t seen_sessions_ = 0;
  int seen_step_ = -1;  // progress steps reported in this download

  // Faults, each once.
  bool dropped_ = false;
  bool power_cut_armed_ = false;
  bool swap_cut_armed_ = false;

  mutable std::mutex status_mutex_;
  DeviceStatus status_;
};

}  // namespace mqota::sim
