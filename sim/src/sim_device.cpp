// A simulated device's application: the agent on its connection, the faults
// that strike during a download, and the events it reports (sim_device.h).
#include "sim_device.h"

#include <algorithm>

#include "mqota/agent/protocol.h"

namespace mqota::sim {
namespace {

// Events that say what happened without changing what state the device is
// in (its summary line would otherwise mostly read "asked"; a stalled
// session is tried again: the device is still downloading, or idle).
bool Informative(std::string_view name) {
  return name == "connected" || name == "disconnected" || name == "asked" || name == "dropped" ||
         name == "reset" || name == "stalled";
}

}  // namespace

SimDevice::SimDevice(const FleetContext& fleet, size_t index, const DeviceFaults& faults)
    : fleet_(fleet),
      id_(DeviceId(fleet.options.id_prefix, index)),
      faults_(faults),
      flash_(fleet.layout, fleet.options.initial_image,
             faults.slow_flash ? fleet.options.faults.flash_op_us : 0),
      granule_bitmap_(fleet.layout.usable_slot_bytes() / 512 / 8 + 1) {
  status_.id = id_;
}

void SimDevice::Attach(int epoll_fd, uint64_t tag, uint64_t power_on_ms) {
  epoll_fd_ = epoll_fd;
  tag_ = tag;
  power_on_at_ms_ = power_on_ms;
}

void SimDevice::Shutdown() { StopApplication(); }

DeviceStatus SimDevice::status() const {
  std::lock_guard lock(status_mutex_);
  return status_;
}

uint64_t SimDevice::Service(uint32_t io_events, uint64_t now_ms) {
  if (mqtt_) {
    if (io_events != 0) mqtt_->OnReady(io_events, now_ms);
    mqtt_->OnTime(now_ms);
  }
  // A reset boots at once: a few turns, each a change of phase.
  for (int turn = 0; turn < 4; ++turn) {
    const Phase before = phase_;
    switch (phase_) {
      case Phase::kOff:
        if (now_ms >= power_on_at_ms_) PowerOn(now_ms);
        break;
      case Phase::kHung:
        if (now_ms >= watchdog_at_ms_) Reset(ResetCause::kWatchdog, "watchdog", now_ms);
        break;
      case Phase::kRunning: RunApplication(now_ms); break;
      case Phase::kDead: break;
    }
    if (phase_ == before) break;
  }
  if (mqtt_) mqtt_->SyncWatch();
  return NextWake(now_ms);
}

uint64_t SimDevice::NextWake(uint64_t now_ms) const {
  switch (phase_) {
    case Phase::kOff: return power_on_at_ms_;
    case Phase::kHung: return watchdog_at_ms_;
    case Phase::kDead: return kNever;
    case Phase::kRunning: break;
  }
  if (busy_until_ms_ > now_ms) return busy_until_ms_;
  uint64_t wake = mqtt_ ? mqtt_->next_time_ms() : now_ms;
  // A deadline already passed was served by this run's tick: the agent has
  // nothing due (pending, say) until something else happens.
  if (agent_started_ && agent_->next_deadline_ms() > now_ms) {
    wake = std::min(wake, agent_->next_deadline_ms());
  }
  if (reset_at_ms_ != 0) wake = std::min(wake, std::max(reset_at_ms_, now_ms + 1));
  return wake;
}

void SimDevice::RunApplication(uint64_t now_ms) {
  if (now_ms < busy_until_ms_) return;
  if (!mqtt_) {
    mqtt_.emplace(Endpoint(), epoll_fd_, tag_, faults_.seed);
    if (!mqtt_->Open(now_ms)) {
      phase_ = Phase::kDead;
      Update([](DeviceStatus& s) { s.dead = true; });
      Emit("failed", now_ms, VersionText(running_), std::nullopt, "MQTT: " + mqtt_->error());
      mqtt_.reset();
      return;
    }
  }
  if (mqtt_->TakeDisconnected()) {
    Emit("disconnected", now_ms, VersionText(running_), std::nullopt, mqtt_->error());
  }
  if (mqtt_->TakeConnected()) {
    Emit("connected", now_ms, VersionText(running_));
    agent_->OnConnected(now_ms);
    agent_started_ = true;
    if (trial_) ConfirmTrial(now_ms);
  }
  FeedMessages(now_ms);
  if (phase_ != Phase::kRunning || now_ms < busy_until_ms_) return;
  if (agent_started_ && now_ms >= agent_->next_deadline_ms()) agent_->OnTick(now_ms);
  PayFlashDebt(now_ms);
  if (!flash_.nor().powered()) return PowerCut("download", now_ms);
  Observe(now_ms);
  if (agent_->reset_requested()) {
    // Pending: reset once the result has had time to reach the broker.
    if (reset_at_ms_ == 0) reset_at_ms_ = now_ms + fleet_.options.install_delay_ms;
    if (now_ms >= reset_at_ms_) Reset(ResetCause::kSoftware, "install", now_ms);
  }
}

void SimDevice::FeedMessages(uint64_t now_ms) {
  auto& inbox = mqtt_->inbox();
  while (!inbox.empty() && now_ms >= busy_until_ms_) {
    const InboxMessage message = std::move(inbox.front());
    inbox.pop_front();
    Update([&](DeviceStatus& s) { s.bytes_received += message.payload.size(); });
    agent_->OnMessage(message.topic, message.payload, now_ms);
    PayFlashDebt(now_ms);
    if (!flash_.nor().powered()) return PowerCut("download", now_ms);
    Observe(now_ms);
  }
}

void SimDevice::PayFlashDebt(uint64_t now_ms) {
  const uint64_t debt_us = flash_.TakeDebtUs();
  if (debt_us == 0) return;
  busy_until_ms_ = std::max(busy_until_ms_, now_ms) + (debt_us + 999) / 1000;
}

void SimDevice::Observe(uint64_t now_ms) {
  const agent::AgentStatus& s = agent_->status();
  // No job yet (or none came): no version to name.
  const std::string offered = s.offered == image::ImageVersion{} ? "" : VersionText(s.offered);
  if (s.state != seen_state_) {
    if (s.state == agent::AgentState::kDownloading) {
      seen_step_ = -1;
      Emit("offered", now_ms, offered);
      if (s.granules_at_start > 0) {
        Update([&](DeviceStatus& d) {
          d.resumed_granules = std::max(d.resumed_granules, s.granules_at_start);
        });
      }
    }
    seen_state_ = s.state;
  }
  if (s.state == agent::AgentState::kDownloading && s.granule_count > 0) {
    const int percent = static_cast<int>(100ull * s.granules_present / s.granule_count);
    const int step = percent / std::max(1, fleet_.options.progress_step_percent);
    if (step > seen_step_) {
      seen_step_ = step;
      Emit("downloading", now_ms, offered,
           step * std::max(1, fleet_.options.progress_step_percent));
    }
    InjectDownloadFaults(s, now_ms);
  }
  if (s.sessions_ended == seen_sessions_) return;
  seen_sessions_ = s.sessions_ended;
  const bool answered =
      s.last_end != agent::SessionEnd::kNoJob && s.last_end != agent::SessionEnd::kStalled;
  Update([&](DeviceStatus& d) {
    if (answered) ++d.answered_since_boot;
    d.chunk_requests += s.chunk_requests;
    d.chunk_retries += s.retries;
  });
  using agent::SessionEnd;
  switch (s.last_end) {
    case SessionEnd::kInstalled:
      // A cut armed for this download that has not struck must not strike
      // something else later.
      if (power_cut_armed_) flash_.nor().CancelPowerCut();
      Emit("pending", now_ms, offered);
      break;
    case SessionEnd::kVerifyFailed:
      Update([&](DeviceStatus& d) { d.failed_versions.push_back(s.offered); });
      Emit("refused", now_ms, offered, std::nullopt, image::Describe(s.verify_error));
      break;
    case SessionEnd::kStalled:
    case SessionEnd::kNoJob:
      Emit("stalled", now_ms, offered, std::nullopt, agent::Describe(s.last_end));
      break;
    case SessionEnd::kNone:
    case SessionEnd::kNoUpdate:
    case SessionEnd::kBlocklisted:
    case SessionEnd::kPatchUnusable:  // simulated devices take whole images only
      break;
    case SessionEnd::kFlashError:
    case SessionEnd::kTooLarge:
    case SessionEnd::kBadJob:
    case SessionEnd::kWrongBoard:
    case SessionEnd::kRedirect:
      Emit("failed", now_ms, offered, std::nullopt, agent::Describe(s.last_end));
      break;
  }
}

void SimDevice::InjectDownloadFaults(const agent::AgentStatus& s, uint64_t now_ms) {
  const double done = static_cast<double>(s.granules_present) / s.granule_count;
  if (faults_.drop_at && !dropped_ && done >= *faults_.drop_at && mqtt_->connected()) {
    dropped_ = true;
    mqtt_->Drop();
    Update([](DeviceStatus& d) { ++d.drops; });
    Emit("dropped", now_ms, VersionText(s.offered), std::nullopt, "mid-download");
  }
  if (faults_.power_cut_at && !power_cut_armed_ && done >= *faults_.power_cut_at) {
    // On one of the next few flash operations (a granule or its journal
    // entry), torn: what a real cut leaves.
    power_cut_armed_ = true;
    SplitMix64 random(faults_.seed ^ 0x706f7772);
    flash_.nor().CutPowerAfter(static_cast<uint32_t>(random.Below(3)), flash::TearMode::kPrefix,
                               random.Next());
  }
}

void SimDevice::Emit(std::string_view name, uint64_t now_ms, const std::string& version,
                     std::optional<int> percent, const std::string& reason) {
  SimEvent e;
  const uint64_t since = now_ms - std::min(now_ms, fleet_.start_ms);
  e.time_ms = fleet_.start_wall_ms + static_cast<int64_t>(since);
  e.elapsed_s = static_cast<double>(since) / 1000.0;
  e.device = id_;
  e.name = name;
  e.version = version;
  e.percent = percent;
  e.reason = reason;
  if (!Informative(name)) Update([&](DeviceStatus& s) { s.state = name; });
  fleet_.events.Write(e);
}

agent::AgentConfig SimDevice::AgentConfig() {
  agent::AgentConfig c;
  c.topic_prefix = fleet_.options.prefix;
  c.identity.device_id = id_;
  c.identity.board = fleet_.options.board;
  c.identity.serial_number = id_;
  c.running_version = running_;
  if (running_digest_known_) c.running_image_digest = running_digest_;
  c.trusted_keys = fleet_.trusted;
  c.crypto = &crypto_;
  // The broker the job documents name: a proxy in between is the network's
  // doing, not a different broker.
  c.broker_host = fleet_.options.broker_host;
  c.broker_port = static_cast<uint16_t>(fleet_.options.broker_port);
  c.check_interval_ms = fleet_.options.check_interval_ms;
  c.job_timeout_ms = fleet_.options.job_timeout_ms;
  return c;
}

MqttEndpoint SimDevice::Endpoint() const {
  MqttEndpoint e;
  e.host = fleet_.options.broker_host;
  e.port =
      faults_.latency && fleet_.proxy_port != 0 ? fleet_.proxy_port : fleet_.options.broker_port;
  e.client_id = id_;
  e.status_topic = fleet_.options.prefix + "/" + fleet_.options.board + "/" +
                   std::string(agent::kDeviceTopicPart) + "/" + id_ + "/" +
                   std::string(agent::kDeviceStatusLeaf);
  e.tls = fleet_.options.tls;
  if (e.tls) {
    e.ca_file = fleet_.options.certs_dir + "/ca.crt";
    e.cert_file = fleet_.options.certs_dir + "/clients/" + id_ + ".crt";
    e.key_file = fleet_.options.certs_dir + "/clients/" + id_ + ".key";
  }
  return e;
}

bool SimDevice::Subscribe(std::string_view topic) {
  return mqtt_ && flash_.nor().powered() && mqtt_->Subscribe(topic);
}

bool SimDevice::Unsubscribe(std::string_view topic) {
  return mqtt_ && flash_.nor().powered() && mqtt_->Unsubscribe(topic);
}

bool SimDevice::Publish(std::string_view topic, std::span<const uint8_t> payload) {
  if (!mqtt_ || !flash_.nor().powered()) return false;  // a dead device says nothing
  const std::string_view text(reinterpret_cast<const char*>(payload.data()), payload.size());
  if (text.find(agent::message::kUpdateAvailability) != std::string_view::npos) {
    Emit("asked", NowMs(), VersionText(running_));
  }
  return mqtt_->Publish(topic, payload);
}

}  // namespace mqota::sim
