#include "mqota/server/metrics.h"

#include <algorithm>
#include <cstdio>
#include <map>

#include "mqota/fleet/campaign.h"

#ifndef MQOTA_VERSION
#define MQOTA_VERSION "unknown"
#endif

namespace mqota::server {
namespace {

constexpr std::array<std::string_view, 5> kOutcomes = {"failed", "refused", "reverted", "rejected",
                                                       "interrupted"};
// Device states shown one series each; anything else is "other".
constexpr std::array<std::string_view, 13> kStates = {
    "seen",      "offered",  "downloading", "downloaded", "verified", "pending",    "booted",
    "confirmed", "reverted", "rejected",    "refused",    "failed",   "interrupted"};
// Board/version series at most; the smallest groups beyond it are summed
// under board="other", version="other".
constexpr size_t kMaxVersionSeries = 100;

int OutcomeIndex(std::string_view outcome) {
  for (size_t i = 0; i < kOutcomes.size(); ++i) {
    if (kOutcomes[i] == outcome) return static_cast<int>(i);
  }
  return -1;
}

// At most `max` bytes, not cutting a UTF-8 sequence.
std::string_view Cut(std::string_view text, size_t max) {
  if (text.size() <= max) return text;
  size_t n = max;
  while (n > 0 && (static_cast<unsigned char>(text[n]) & 0xC0) == 0x80) --n;
  return text.substr(0, n);
}

class Writer {
 public:
  void Family(std::string_view name, std::string_view type, std::string_view help) {
    out_ += "# HELP ";
    out_ += name;
    out_ += ' ';
    out_ += help;
    out_ += "\n# TYPE ";
    out_ += name;
    out_ += ' ';
    out_ += type;
    out_ += '\n';
  }
  // labels: "" or `a="x",b="y"` (values escaped by the caller).
  void Sample(std::string_view name, const std::string& labels, double value) {
    out_ += name;
    if (!labels.empty()) out_ += "{" + labels + "}";
    char number[32];
    std::snprintf(number, sizeof number, " %.17g\n", value);
    out_ += number;
  }
  void Sample(std::string_view name, const std::string& labels, uint64_t value) {
    out_ += name;
    if (!labels.empty()) out_ += "{" + labels + "}";
    out_ += ' ';
    out_ += std::to_string(value);
    out_ += '\n';
  }
  std::string Take() { return std::move(out_); }

 private:
  std::string out_;
};

std::string Label(std::string_view key, std::string_view value) {
  return std::string(key) + "=\"" + EscapeLabelValue(value) + "\"";
}

std::string Bound(double le) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", le);
  return text;
}

void RenderRegistry(Writer& w, const fleet::FleetCounts& c) {
  w.Family("mqota_devices", "gauge", "Devices in the registry by state (their last event).");
  uint64_t other = 0;
  for (const auto& [state, n] : c.states) {
    bool known = false;
    for (const auto s : kStates) known = known || s == state;
    if (!known) other += n;
  }
  for (const auto state : kStates) {
    const auto it = c.states.find(std::string(state));
    w.Sample("mqota_devices", Label("state", state), it == c.states.end() ? 0 : it->second);
  }
  w.Sample("mqota_devices", Label("state", "other"), other);

  w.Family("mqota_devices_online", "gauge", "Devices connected to the broker.");
  w.Sample("mqota_devices_online", "", c.online);

  w.Family("mqota_downloads_in_flight", "gauge",
           "Devices offered an image or downloading it, not yet stored whole.");
  uint64_t in_flight = 0;
  for (const char* s : {"offered", "downloading"}) {
    const auto it = c.states.find(s);
    if (it != c.states.end()) in_flight += it->second;
  }
  w.Sample("mqota_downloads_in_flight", "", in_flight);

  w.Family("mqota_device_versions", "gauge",
           "Devices by board and running version (at most 100 series; the rest under "
           "\"other\").");
  std::vector<const fleet::FleetCounts::Version*> order;
  order.reserve(c.versions.size());
  for (const auto& v : c.versions) order.push_back(&v);
  if (order.size() > kMaxVersionSeries) {
    std::stable_sort(order.begin(), order.end(),
                     [](const auto* a, const auto* b) { return a->devices > b->devices; });
  }
  uint64_t rest = 0;
  for (size_t i = 0; i < order.size(); ++i) {
    if (i + 1 >= kMaxVersionSeries && order.size() > kMaxVersionSeries) {
      rest += order[i]->devices;
      continue;
    }
    w.Sample("mqota_device_versions",
             Label("board", order[i]->board) + "," + Label("version", order[i]->version),
             order[i]->devices);
  }
  if (order.size() > kMaxVersionSeries) {
    w.Sample("mqota_device_versions", Label("board", "other") + "," + Label("version", "other"),
             rest);
  }

  w.Family("mqota_campaigns", "gauge", "Campaigns by status.");
  for (const auto status : {fleet::CampaignStatus::kRunning, fleet::CampaignStatus::kPaused,
                            fleet::CampaignStatus::kHalted, fleet::CampaignStatus::kCancelled,
                            fleet::CampaignStatus::kCompleted}) {
    const std::string name(fleet::CampaignStatusName(status));
    const auto it = c.campaigns.find(name);
    w.Sample("mqota_campaigns", Label("status", name), it == c.campaigns.end() ? 0 : it->second);
  }
}

}  // namespace

std::string_view MessageKindLabel(MessageKind kind) {
  switch (kind) {
    case MessageKind::kUpdateAvailability: return "update_availability";
    case MessageKind::kRequestUpdate: return "request_update";
    case MessageKind::kRequestDataChunk: return "request_data_chunk";
    case MessageKind::kResult: return "result";
    case MessageKind::kProgress: return "progress";
    case MessageKind::kOther: break;
  }
  return "other";
}

std::string EscapeLabelValue(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (const char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

void Metrics::CountRequest(MessageKind kind) {
  requests_[static_cast<size_t>(kind)].fetch_add(1, std::memory_order_relaxed);
}

void Metrics::CountChunk(size_t payload_bytes) {
  chunks_.fetch_add(1, std::memory_order_relaxed);
  chunk_bytes_.fetch_add(payload_bytes, std::memory_order_relaxed);
}

Metrics::ReasonSlot* Metrics::SlotFor(std::string_view reason) {
  for (ReasonSlot& slot : reasons_) {
    int state = slot.state.load(std::memory_order_acquire);
    if (state == 0) {
      int expected = 0;
      if (slot.state.compare_exchange_strong(expected, 1, std::memory_order_acq_rel)) {
        slot.text = std::string(reason);
        slot.state.store(2, std::memory_order_release);
        return &slot;
      }
      state = expected;
    }
    // A slot being claimed (1) may be for this reason too: then two slots
    // hold it, and Render adds them up.
    if (state == 2 && slot.text == reason) return &slot;
  }
  return nullptr;
}

void Metrics::CountOutcome(std::string_view outcome, std::string_view reason) {
  const int index = OutcomeIndex(outcome);
  if (index < 0) return;
  ReasonSlot* slot = SlotFor(Cut(reason, kReasonBytes));
  auto& counter = slot ? slot->by_outcome[static_cast<size_t>(index)]
                       : other_reason_[static_cast<size_t>(index)];
  counter.fetch_add(1, std::memory_order_relaxed);
}

void Metrics::ObserveRegistryWrite(std::chrono::nanoseconds took, size_t events, bool failed) {
  const double seconds = std::chrono::duration<double>(took).count();
  size_t bucket = 0;
  while (bucket < kWriteBuckets.size() && seconds > kWriteBuckets[bucket]) ++bucket;
  write_buckets_[bucket].fetch_add(1, std::memory_order_relaxed);
  write_nanos_.fetch_add(static_cast<uint64_t>(took.count()), std::memory_order_relaxed);
  if (failed) {
    write_failures_.fetch_add(1, std::memory_order_relaxed);
  } else {
    events_written_.fetch_add(events, std::memory_order_relaxed);
  }
}

void Metrics::CountHttpRequest(int status) {
  const int index = status / 100 - 1;
  if (index >= 0 && index < 5) {
    http_by_class_[static_cast<size_t>(index)].fetch_add(1, std::memory_order_relaxed);
  }
}

std::string Metrics::Render(const fleet::FleetCounts* counts, const Live& live,
                            double registry_read_seconds) const {
  const auto load = [](const std::atomic<uint64_t>& a) {
    return a.load(std::memory_order_relaxed);
  };
  Writer w;
  w.Family("mqota_build_info", "gauge", "mqota-server's version; always 1.");
  w.Sample("mqota_build_info", Label("version", MQOTA_VERSION), uint64_t{1});
  w.Family("mqota_start_time_seconds", "gauge", "When the server started, Unix time.");
  w.Sample("mqota_start_time_seconds", "",
           std::chrono::duration<double>(started_.time_since_epoch()).count());

  w.Family("mqota_requests_total", "counter", "Device requests handled, by message type.");
  for (size_t i = 0; i < kMessageKinds; ++i) {
    w.Sample("mqota_requests_total",
             Label("message", MessageKindLabel(static_cast<MessageKind>(i))), load(requests_[i]));
  }
  w.Family("mqota_chunks_served_total", "counter", "Chunk messages published to devices.");
  w.Sample("mqota_chunks_served_total", "", load(chunks_));
  w.Family("mqota_served_bytes_total", "counter",
           "Bytes of chunk messages published to devices (MQTT payload, chunk header included).");
  w.Sample("mqota_served_bytes_total", "", load(chunk_bytes_));

  w.Family("mqota_device_outcomes_total", "counter",
           "Failed, refused, reverted, rejected and interrupted updates devices reported, by "
           "reason (the first 16 distinct reasons; later ones under \"other\").");
  std::map<std::pair<size_t, std::string>, uint64_t> outcomes;
  for (const ReasonSlot& slot : reasons_) {
    if (slot.state.load(std::memory_order_acquire) != 2) continue;
    for (size_t o = 0; o < kOutcomes.size(); ++o) {
      outcomes[{o, slot.text}] += load(slot.by_outcome[o]);
    }
  }
  for (size_t o = 0; o < kOutcomes.size(); ++o) {
    if (const uint64_t n = load(other_reason_[o])) outcomes[{o, "other"}] += n;
  }
  for (const auto& [key, n] : outcomes) {
    if (n == 0) continue;
    w.Sample("mqota_device_outcomes_total",
             Label("outcome", kOutcomes[key.first]) + "," + Label("reason", key.second), n);
  }

  w.Family("mqota_registry_write_duration_seconds", "histogram",
           "Time of one group commit of device events (Registry::RecordAll).");
  uint64_t cumulative = 0;
  for (size_t i = 0; i < kWriteBuckets.size(); ++i) {
    cumulative += load(write_buckets_[i]);
    w.Sample("mqota_registry_write_duration_seconds_bucket", Label("le", Bound(kWriteBuckets[i])),
             cumulative);
  }
  cumulative += load(write_buckets_.back());
  w.Sample("mqota_registry_write_duration_seconds_bucket", Label("le", "+Inf"), cumulative);
  w.Sample("mqota_registry_write_duration_seconds_sum", "",
           static_cast<double>(load(write_nanos_)) / 1e9);
  w.Sample("mqota_registry_write_duration_seconds_count", "", cumulative);
  w.Family("mqota_registry_write_failures_total", "counter",
           "Group commits the registry failed (the events wait and are retried).");
  w.Sample("mqota_registry_write_failures_total", "", load(write_failures_));
  w.Family("mqota_registry_events_written_total", "counter", "Device events committed.");
  w.Sample("mqota_registry_events_written_total", "", load(events_written_));
  w.Family("mqota_registry_events_waiting", "gauge", "Device events queued for the registry.");
  w.Sample("mqota_registry_events_waiting", "", uint64_t{live.events_waiting});

  w.Family("mqota_streams_active", "gauge", "Devices the server is pushing chunks to.");
  w.Sample("mqota_streams_active", "", uint64_t{live.streams_active});
  w.Family("mqota_streams_waiting", "gauge", "Streams waiting for a free slot (--max-streams).");
  w.Sample("mqota_streams_waiting", "", uint64_t{live.streams_waiting});

  w.Family("mqota_http_requests_total", "counter",
           "Requests to the HTTP listener (API, dashboard, metrics) by status class.");
  for (size_t i = 0; i < http_by_class_.size(); ++i) {
    w.Sample("mqota_http_requests_total", Label("code", std::to_string(i + 1) + "xx"),
             load(http_by_class_[i]));
  }

  w.Family("mqota_registry_up", "gauge", "1 when this scrape could read the registry.");
  w.Sample("mqota_registry_up", "", uint64_t{counts ? 1u : 0u});
  w.Family("mqota_registry_read_duration_seconds", "gauge",
           "How long this scrape took to read the registry's counts.");
  w.Sample("mqota_registry_read_duration_seconds", "", registry_read_seconds);
  if (counts) RenderRegistry(w, *counts);
  return w.Take();
}

}  // namespace mqota::server
