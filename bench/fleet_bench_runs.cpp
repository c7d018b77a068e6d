#include "fleet_bench_runs.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <thread>

namespace mqota::bench {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr image::ImageVersion kNew{1, 1, 0, 0};
constexpr uint32_t kChunkBytes = 4096;  // the agent's, and the baseline's
constexpr uint32_t kWindow = 8;         // the agent's default, and the baseline's

json CampaignBody(const std::string& name, const std::string& waves, int failure_percent) {
  return {{"name", name},
          {"image", {{"board", kFleetBoard}, {"version", "1.1.0"}}},
          {"waves", waves},
          {"failure_percent", failure_percent}};
}

// The last time each device had `event` for 1.1.0 (its first such event).
std::map<std::string, int64_t> FirstEvents(const std::vector<sim::SimEvent>& events,
                                           const std::string& name) {
  std::map<std::string, int64_t> first;
  for (const auto& e : events) {
    if (e.name == name && e.version == "1.1.0") first.emplace(e.device, e.time_ms);
  }
  return first;
}

int64_t Latest(const std::map<std::string, int64_t>& times) {
  int64_t latest = 0;
  for (const auto& [device, time] : times) latest = std::max(latest, time);
  return latest;
}

FanoutResult BaselineOnce(const Stage& stage, size_t devices, uint32_t chunks) {
  FanoutOptions o;
  o.port = stage.broker_port();
  o.devices = static_cast<uint32_t>(devices);
  o.chunks = chunks;
  o.chunk_bytes = kChunkBytes;
  o.window = kWindow;
  return RunFanoutBaseline(o);
}

}  // namespace

double Percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  const auto rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size())));
  return sorted[std::clamp<size_t>(rank, 1, sorted.size()) - 1];
}

double NudgeFloorMs(size_t devices, double p) {
  if (devices == 0) return 0;
  const auto rank =
      static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(devices)));  // 1-based
  const size_t tick = (std::max<size_t>(rank, 1) - 1) / kNudgesPerSecond;        // whole ticks
  return static_cast<double>(tick) * 1000.0;
}

FanoutMeasure MeasureFanout(const FanoutSpec& spec, const host::Key& key) {
  StageOptions so;
  so.devices = spec.devices;
  so.image_payload = spec.image_payload;
  so.broker = spec.broker;
  so.server_queue = spec.server_queue;
  Stage stage(so, key);
  stage.StartFleet(std::chrono::seconds(30 + spec.devices / 20));

  FanoutMeasure m;
  m.devices = spec.devices;
  m.image_bytes = stage.image(kNew).size();
  m.chunks = static_cast<uint32_t>((m.image_bytes + kChunkBytes - 1) / kChunkBytes);
  auto baseline = [&] {
    if (!spec.baseline) return;
    FanoutResult r = BaselineOnce(stage, spec.devices, m.chunks);
    if (!r.ok) {
      m.error = r.error;
      return;
    }
    m.baseline_runs_s.push_back(r.seconds);
    if (!m.baseline || r.seconds < m.baseline->seconds) m.baseline = r;
  };
  baseline();

  const Stage::Created created = stage.CreateCampaign(CampaignBody("bench fan-out", "100%", 10));
  m.api_call_ms = static_cast<double>(created.returned_ms - created.sent_ms);
  const bool settled = stage.fleet().WaitUntil(
      [](const std::vector<sim::DeviceStatus>& s) { return sim::FleetSim::Settled(s, kNew); },
      spec.timeout);
  const std::vector<sim::SimEvent> events = stage.Events();
  const auto pending = FirstEvents(events, "pending");
  const auto confirmed = FirstEvents(events, "confirmed");
  m.pending = pending.size();
  m.confirmed = confirmed.size();
  m.to_pending_s = static_cast<double>(Latest(pending) - created.sent_ms) / 1000.0;
  m.to_confirmed_s = static_cast<double>(Latest(confirmed) - created.sent_ms) / 1000.0;
  if (!settled) {
    m.error = "after " + std::to_string(spec.timeout.count()) + " s only " +
              std::to_string(m.pending) + " devices were pending and " +
              std::to_string(m.confirmed) + " confirmed, of " + std::to_string(spec.devices);
  }

  // Push latency: asks of the running version (1.0.0) after the call went out.
  std::map<std::string, int64_t> asked;
  for (const auto& e : events) {
    if (e.name == "asked" && e.time_ms >= created.sent_ms) asked.emplace(e.device, e.time_ms);
  }
  for (const auto& [device, time] : asked) {
    m.push_ms.push_back(static_cast<double>(time - created.returned_ms));
  }
  std::sort(m.push_ms.begin(), m.push_ms.end());
  for (const auto& e : events) {
    if (e.name != "stalled") continue;
    ++m.stalled;
    ++m.stall_reasons[e.reason];
  }

  if (settled) baseline();
  m.summary = stage.fleet().Summary();
  m.server = stage.StopServer();
  m.queue_drops = stage.ServerLogCount("dropped a request");
  m.registry_events = stage.RegistryEvents();
  return m;
}

HaltMeasure MeasureHalt(size_t devices, uint32_t image_payload, const host::Key& key) {
  StageOptions so;
  so.devices = devices;
  so.image_payload = image_payload;
  so.hang = {kNew};
  so.watchdog_ms = 1000;
  Stage stage(so, key);
  stage.StartFleet(30s);

  HaltMeasure h;
  const Stage::Created created = stage.CreateCampaign(CampaignBody("bench halt", "1", 0));
  const std::string path = "/api/v1/campaigns/" + std::to_string(created.id);
  json campaign;
  const auto deadline = Clock::now() + 60s;
  while (Clock::now() < deadline) {
    campaign = stage.Api("GET", path);
    if (campaign.value("status", "") != "running") break;
    std::this_thread::sleep_for(50ms);
  }
  if (campaign.value("status", "") != "halted") {
    h.error = "the campaign is " + campaign.value("status", std::string("?")) +
              ", not halted, 60 s after its creation";
    return h;
  }
  h.reason = campaign.value("status_reason", "");
  for (const json& entry : campaign["log"]) {
    if (entry.value("action", "") == "halted") {
      h.halted_ms = ParseIsoMs(entry.value("time", "")).value_or(0);
    }
  }
  const auto reverted = FirstEvents(stage.Events(), "reverted");
  if (reverted.size() != 1 || h.halted_ms == 0) {
    h.error = std::to_string(reverted.size()) + " devices reverted, halted at " +
              std::to_string(h.halted_ms) + " (expected one canary and a logged halt)";
    return h;
  }
  h.reverted_ms = reverted.begin()->second;
  h.created_to_reverted_s = static_cast<double>(h.reverted_ms - created.sent_ms) / 1000.0;
  h.offered = FirstEvents(stage.Events(), "offered").size();
  h.ok = true;
  return h;
}

}  // namespace mqota::bench
