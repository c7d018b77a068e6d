#include "mqota/sim/fleet_sim.h"

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <thread>

#include "fault_plan.h"
#include "mqota/host/command_error.h"
#include "mqota/host/mqtt_names.h"
#include "mqota/sim/latency_proxy.h"
#include "sim_device.h"
#include "worker.h"

namespace mqota::sim {
namespace {

uint32_t MaxImageBytes(const FleetOptions& o) {
  if (o.max_image_bytes != 0) return std::max<uint32_t>(o.max_image_bytes, o.initial_image.size());
  return static_cast<uint32_t>(o.initial_image.size() + o.initial_image.size() / 4);
}

void CheckOptions(const FleetOptions& o) {
  if (o.devices == 0) throw host::UsageError("--devices must be at least 1");
  if (o.initial_image.empty()) throw host::UsageError("no initial image for the primary slots");
  if (o.trusted_keys_der.empty() || o.trusted_keys_der.size() != o.trusted_key_types.size()) {
    throw host::UsageError("the devices need a key to trust (--trust-key)");
  }
  host::CheckBoardName(o.board);
  host::CheckTopicPrefix(o.prefix);
  host::CheckClientId(o.id_prefix + "0000", "device id");
  if (!o.tls) return;
  namespace fs = std::filesystem;
  const fs::path dir(o.certs_dir);
  if (!fs::exists(dir / "ca.crt")) {
    throw host::UsageError("--certs " + o.certs_dir + ": no ca.crt (make one with mqota certs)");
  }
  for (size_t i = 0; i < o.devices; ++i) {
    const std::string id = DeviceId(o.id_prefix, i);
    if (!fs::exists(dir / "clients" / (id + ".crt")) ||
        !fs::exists(dir / "clients" / (id + ".key"))) {
      std::string message = "--certs " + o.certs_dir;
      message += ": no certificate for " + id + " in clients/ (add it with: mqota certs --out ";
      message += o.certs_dir + " --device " + id + ")";
      throw host::UsageError(message);
    }
  }
}

}  // namespace

std::string DeviceId(const std::string& prefix, size_t index) {
  std::string digits = std::to_string(index);
  if (digits.size() < 4) digits.insert(0, 4 - digits.size(), '0');
  return prefix + digits;
}

std::string VersionText(const image::ImageVersion& v) {
  std::string text =
      std::to_string(v.major) + "." + std::to_string(v.minor) + "." + std::to_string(v.revision);
  if (v.build != 0) text += "+" + std::to_string(v.build);
  return text;
}

std::string ToJsonLine(const FleetSummary& s) {
  nlohmann::ordered_json j;
  j["event"] = "summary";
  j["devices"] = s.devices;
  j["elapsed_s"] = s.elapsed_s;
  j["versions"] = s.versions;
  j["states"] = s.states;
  j["faults"] = s.faults;
  j["bytes_received"] = s.bytes_received;
  j["chunk_requests"] = s.chunk_requests;
  j["chunk_retries"] = s.chunk_retries;
  j["events"] = s.events;
  return j.dump();
}

struct FleetSim::Impl {
  Impl(FleetOptions o, EventLog& log)
      : options(std::move(o)),
        events(log),
        context{options, FlashLayout::ForImage(MaxImageBytes(options)), {}, log} {}

  FleetOptions options;
  EventLog& events;
  FleetContext context;
  std::unique_ptr<LatencyProxy> proxy;
  std::vector<std::unique_ptr<SimDevice>> devices;
  std::vector<std::unique_ptr<Worker>> workers;
  bool running = false;
  bool stopped = false;
  uint64_t stopped_ms = 0;
};

FleetSim::FleetSim(FleetOptions options, EventLog& events) {
  CheckOptions(options);
  impl_ = std::make_unique<Impl>(std::move(options), events);
  Impl& s = *impl_;
  for (size_t i = 0; i < s.options.trusted_keys_der.size(); ++i) {
    s.context.trusted.push_back({s.options.trusted_key_types[i], s.options.trusted_keys_der[i]});
  }
  const std::vector<DeviceFaults> plan = PlanFaults(s.options.faults, s.options.devices);
  const bool any_latency =
      std::any_of(plan.begin(), plan.end(), [](const DeviceFaults& f) { return f.latency; });
  if (any_latency) {
    s.proxy =
        std::make_unique<LatencyProxy>(s.options.broker_host, s.options.broker_port,
                                       std::chrono::milliseconds(s.options.faults.latency_ms));
    s.context.proxy_port = s.proxy->port();
  }
  s.devices.reserve(s.options.devices);
  for (size_t i = 0; i < s.options.devices; ++i) {
    s.devices.push_back(std::make_unique<SimDevice>(s.context, i, plan[i]));
  }
}

FleetSim::~FleetSim() { Stop(); }

void FleetSim::Start() {
  Impl& s = *impl_;
  if (s.running || s.stopped) throw std::logic_error("a fleet starts once");
  s.context.start_ms = NowMs();
  s.context.start_wall_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                std::chrono::system_clock::now().time_since_epoch())
                                .count();
  unsigned k = s.options.threads != 0 ? s.options.threads : std::thread::hardware_concurrency();
  k = std::clamp<unsigned>(k, 1, static_cast<unsigned>(s.devices.size()));
  for (unsigned i = 0; i < k; ++i) s.workers.push_back(std::make_unique<Worker>());
  const uint64_t ramp = static_cast<uint64_t>(s.options.ramp.count());
  for (size_t i = 0; i < s.devices.size(); ++i) {
    Worker& worker = *s.workers[i % k];
    const uint64_t power_on = s.context.start_ms + ramp * i / s.devices.size();
    const uint64_t tag = worker.Add(*s.devices[i], power_on);
    s.devices[i]->Attach(worker.epoll_fd(), tag, power_on);
  }
  s.running = true;
  for (auto& worker : s.workers) worker->Start();
}

void FleetSim::Stop() {
  Impl& s = *impl_;
  if (!s.running) return;
  for (auto& worker : s.workers) worker->Stop();
  for (auto& device : s.devices) device->Shutdown();
  s.running = false;
  s.stopped = true;
  s.stopped_ms = NowMs();
  s.proxy.reset();
  s.events.Flush();
}

size_t FleetSim::size() const { return impl_->devices.size(); }

DeviceStatus FleetSim::status(size_t device) const { return impl_->devices.at(device)->status(); }

std::vector<DeviceStatus> FleetSim::statuses() const {
  std::vector<DeviceStatus> all;
  all.reserve(impl_->devices.size());
  for (const auto& d : impl_->devices) all.push_back(d->status());
  return all;
}

bool FleetSim::WaitUntil(const std::function<bool(const std::vector<DeviceStatus>&)>& done,
                         std::chrono::milliseconds timeout) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (done(statuses())) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

bool FleetSim::Settled(const std::vector<DeviceStatus>& statuses,
                       const image::ImageVersion& version) {
  return std::all_of(statuses.begin(), statuses.end(), [&](const DeviceStatus& d) {
    const bool failed = std::find(d.failed_versions.begin(), d.failed_versions.end(), version) !=
                        d.failed_versions.end();
    const bool told = d.answered_since_boot > 0;
    return d.dead || (told && (failed || (d.running == version && d.confirmed)));
  });
}

std::vector<uint8_t> FleetSim::PrimarySlot(size_t device, size_t bytes) const {
  if (impl_->running) throw std::logic_error("PrimarySlot: stop the fleet first");
  return impl_->devices.at(device)->PrimaryBytes(bytes);
}

int FleetSim::proxy_port() const { return impl_->context.proxy_port; }

FleetSummary FleetSim::Summary() const {
  const Impl& s = *impl_;
  FleetSummary summary;
  summary.devices = s.devices.size();
  if (s.context.start_ms != 0) {
    const uint64_t end = s.running ? NowMs() : s.stopped_ms;
    summary.elapsed_s = static_cast<double>(end - s.context.start_ms) / 1000.0;
  }
  for (const DeviceStatus& d : statuses()) {
    ++summary.versions[VersionText(d.running)];
    ++summary.states[d.state.empty() ? "off" : d.state];
    summary.faults["dropped"] += d.drops;
    summary.faults["power-cut-download"] += d.power_cuts;
    summary.faults["power-cut-swap"] += d.swap_cuts;
    summary.faults["watchdog"] += d.watchdog_resets;
    summary.bytes_received += d.bytes_received;
    summary.chunk_requests += d.chunk_requests;
    summary.chunk_retries += d.chunk_retries;
  }
  summary.events = s.events.count();
  return summary;
}

}  // namespace mqota::sim
