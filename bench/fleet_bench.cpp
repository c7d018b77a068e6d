// The fleet at scale, on loopback: mqota-server (the real binary, campaign
// mode, a SQLite registry with fsync on), a real mosquitto, and a simulated
// fleet (sim::FleetSim: the real agent and bootloader core per device, on
// their own flash) in this process. Every device is at 1.0.0; a campaign of
// one wave, created through the HTTP API, rolls 1.1.0 out in 4 KiB chunks
// with the default window (8):
//   fan-out  100 x 1 MiB and 1000 x 256 KiB: the campaign's creation to the
//            last device's `pending` (downloaded + verified) and `confirmed`;
//            beside a raw libmosquitto fan-out of the same bytes to as many
//            subscribers (fleet_bench_baseline.h), measured in the same run
//   server   peak RSS (VmHWM) and CPU seconds, from /proc, before it exits
//   push     devices poll every 10 min, so only nudges make them ask: the
//            campaign's creation to each device's first ask
//   halt     a hanging image, a canary wave of one, failure threshold 0: the
//            canary's revert (device clock) to the campaign log's "halted"
//   registry Record() of one event per transaction, beside raw sqlite3
// Each figure is printed beside its goal, and a missed goal says why.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "fleet_bench_registry.h"
#include "fleet_bench_runs.h"
#include "fleet_bench_stage.h"
#include "mqota/host/keys.h"
#include "mqota/testing/files.h"
#include "mqota/testing/process.h"
#include "wire_baseline.h"

namespace {

using namespace mqota;
using namespace mqota::bench;
using namespace std::chrono_literals;
namespace mt = mqota::testing;

struct Sizes {
  FanoutSpec small;  // goal: <= 3 s, >= 0.8 of the baseline
  FanoutSpec large;  // goal: <= 10 s
  size_t halt_devices = 0;
  uint32_t halt_payload = 0;
  uint32_t registry_events = 0;
};

Sizes FullSizes() {
  Sizes s;
  s.small.devices = 100;
  s.small.image_payload = 1024 * 1024 - 0x400 - 300;  // a 1 MiB image: 256 chunks
  s.small.timeout = 60s;
  s.large.devices = 1000;
  s.large.image_payload = 256 * 1024 - 0x400 - 300;  // 256 KiB: 64 chunks
  s.large.baseline = false;
  s.large.timeout = 60s;
  s.halt_devices = 20;
  s.halt_payload = 64 * 1024;
  s.registry_events = 5000;
  return s;
}

Sizes QuickSizes() {
  Sizes s;
  s.small.devices = 10;
  s.small.image_payload = 64 * 1024;
  s.small.timeout = 20s;
  s.large.devices = 30;
  s.large.image_payload = 32 * 1024;
  s.large.baseline = false;
  s.large.timeout = 20s;
  s.halt_devices = 3;
  s.halt_payload = 16 * 1024;
  s.registry_events = 300;
  return s;
}

std::string LoadAverage() {
  std::string a, b, c;
  std::ifstream("/proc/loadavg") >> a >> b >> c;
  return a + " " + b + " " + c;
}

std::string Format(const char* format, double value) {
  char text[256];
  std::snprintf(text, sizeof text, format, value);
  return text;
}

struct Row {
  std::string metric, measured, baseline, goal, verdict;
};

class Table {
 public:
  explicit Table(bool quick) : quick_(quick) {}
  // A goal checked: "met", or "MISSED (why)"; in a quick run goals are not
  // judged (the sizes are not the goal's).
  void Goal(std::string metric, std::string measured, std::string baseline, std::string goal,
            bool met, const std::string& why) {
    std::string verdict = quick_ ? "n/a (--quick)" : met ? "met" : "MISSED (" + why + ")";
    rows_.push_back({std::move(metric), std::move(measured), std::move(baseline), std::move(goal),
                     std::move(verdict)});
  }
  void Info(std::string metric, std::string measured, std::string baseline = "",
            std::string note = "") {
    rows_.push_back(
        {std::move(metric), std::move(measured), std::move(baseline), "-", std::move(note)});
  }
  void Print() const {
    std::printf("%-36s %13s %16s %9s  %s\n", "metric", "measured", "baseline", "goal", "");
    for (const Row& r : rows_) {
      std::printf("%-36s %13s %16s %9s  %s\n", r.metric.c_str(), r.measured.c_str(),
                  r.baseline.c_str(), r.goal.c_str(), r.verdict.c_str());
    }
  }
  size_t missed() const {
    size_t n = 0;
    for (const Row& r : rows_) n += r.verdict.rfind("MISSED", 0) == 0;
    return n;
  }

 private:
  bool quick_;
  std::vector<Row> rows_;
};

std::string FleetName(const FanoutMeasure& m) {
  const double kib = static_cast<double>(m.image_bytes) / 1024.0;
  return std::to_string(m.devices) + " x " +
         (kib >= 1000 ? Format("%.0f MiB", kib / 1024) : Format("%.0f KiB", kib));
}

// What a rollout lost on the way: sessions that ended short, chunks asked
// again, requests the server's queue dropped.
std::string Losses(const FanoutMeasure& m) {
  std::string reasons;
  for (const auto& [reason, count] : m.stall_reasons) {
    reasons += (reasons.empty() ? " (" : ", ") + std::to_string(count) + " \"" + reason + "\"";
  }
  if (!reasons.empty()) reasons += ")";
  return std::to_string(m.stalled) + " stalled sessions" + reasons + ", " +
         std::to_string(m.summary.chunk_retries) + " chunk re-requests, " +
         std::to_string(m.queue_drops) + " requests dropped by the server's queue";
}

// Why a rollout took longer than `goal_s`: the facts the run measured.
std::string SlowBecause(const FanoutMeasure& m, double goal_s) {
  std::string why = m.error.empty() ? Format("%.1f s over", m.to_pending_s - goal_s) : m.error;
  if (m.stalled + m.summary.chunk_retries + m.queue_drops > 0) why += "; " + Losses(m);
  const double floor_s = NudgeFloorMs(m.devices, 100) / 1000.0;
  if (floor_s > 0) why += Format("; nudges at 200/s reach the last device after %.0f s", floor_s);
  why += Format("; server CPU %.1f s", m.server.cpu_seconds);
  return why;
}

void FanoutRows(Table& t, const FanoutMeasure& m, double goal_s) {
  const std::string name = FleetName(m);
  const bool done = m.error.empty();
  std::string base;
  if (m.baseline) base = Format("%.2f s", m.baseline->seconds);
  t.Goal("fan-out " + name + ": to last pending", Format("%.2f s", m.to_pending_s), base,
         Format("<= %.0f s", goal_s), done && m.to_pending_s <= goal_s, SlowBecause(m, goal_s));
  if (m.baseline && done) {
    const double ratio = m.baseline->seconds / m.to_pending_s;
    t.Goal("  efficiency (baseline / ours)", Format("%.2f", ratio), "", ">= 0.8", ratio >= 0.8,
           Format("raw %.2f s; ours adds nudges, the job, JSON requests, flash, verification",
                  m.baseline->seconds) +
               Format(" and the registry: server CPU %.1f s", m.server.cpu_seconds));
  }
  t.Info("  to last confirmed", Format("%.2f s", m.to_confirmed_s), "",
         std::to_string(m.confirmed) + " of " + std::to_string(m.devices) + " confirmed");
  t.Info("  server CPU (user + sys)", Format("%.2f s", m.server.cpu_seconds));
  const double p50 = Percentile(m.push_ms, 50), p99 = Percentile(m.push_ms, 99);
  const std::string asked =
      std::to_string(m.push_ms.size()) + " of " + std::to_string(m.devices) + " asked";
  t.Info("  push latency p50", Format("%.0f ms", p50),
         Format("floor %.0f ms", NudgeFloorMs(m.devices, 50)), asked);
  t.Info("  push latency p99", Format("%.0f ms", p99),
         Format("floor %.0f ms", NudgeFloorMs(m.devices, 99)),
         "floor: 200 nudges a second, one tick a second");
  t.Info("  push latency max", Format("%.0f ms", m.push_ms.empty() ? 0.0 : m.push_ms.back()),
         Format("floor %.0f ms", NudgeFloorMs(m.devices, 100)));
}

void PrintHelp() {
  std::printf(
      "usage: mqota-bench-fleet [--quick] [--max-queued N] [--server-queue N]\n"
      "mqota-server (campaign mode, SQLite registry), mosquitto and a simulated fleet on\n"
      "loopback: a campaign's fan-out (100 x 1 MiB beside a raw libmosquitto fan-out, and\n"
      "1000 x 256 KiB), the server's peak RSS and CPU, push latency, halt latency and the\n"
      "registry's write rate, each beside its goal.\n"
      "  --quick         small sizes (a smoke test; goals are not judged)\n"
      "  --max-queued N    the broker's max_queued_messages (default 16000, what mqota "
      "broker-config writes for 1000 devices)\n"
      "  --server-queue N  mqota-server --queue N for the fan-outs (default: its own, 16384)\n");
}

}  // namespace

int main(int argc, char** argv) {
  bool quick = false;
  BrokerLimits broker;
  uint32_t server_queue = 0;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--help") == 0 || std::strcmp(argv[i], "-h") == 0) {
      PrintHelp();
      return 0;
    } else if (std::strcmp(argv[i], "--quick") == 0) {
      quick = true;
    } else if (std::strcmp(argv[i], "--max-queued") == 0 && i + 1 < argc &&
               std::atoi(argv[i + 1]) > 0) {
      broker.max_queued = std::atoi(argv[++i]);
    } else if (std::strcmp(argv[i], "--server-queue") == 0 && i + 1 < argc &&
               std::atoi(argv[i + 1]) > 0) {
      server_queue = static_cast<uint32_t>(std::atoi(argv[++i]));
    } else {
      std::fprintf(stderr, "mqota-bench-fleet: unknown argument \"%s\" (try --help)\n", argv[i]);
      return 2;
    }
  }
  Sizes sizes = quick ? QuickSizes() : FullSizes();
  sizes.small.broker = broker;
  sizes.large.broker = broker;
  sizes.small.server_queue = server_queue;
  sizes.large.server_queue = server_queue;

  std::printf(
      "fleet: mqota-server (campaign mode, registry WAL + synchronous=FULL), mosquitto and"
      " a simulated fleet on loopback%s\n",
      quick ? " (--quick: small sizes, goals not judged)" : "");
  std::printf(
      "environment: %u cores, load average %s at start, %s, libmosquitto %s\n",
      std::thread::hardware_concurrency(), LoadAverage().c_str(),
      [] {
        const std::string out = mt::RunProcess({"/usr/sbin/mosquitto", "-h"}, 5s).out;
        return out.substr(0, out.find('\n'));
      }()
          .c_str(),
      LibmosquittoVersion().c_str());
  std::string config = BrokerConfigText(broker);
  for (char& c : config) c = c == '\n' ? ',' : c;
  std::printf("broker: %s\n", config.c_str());
  std::printf(
      "server: mqota-server's defaults (4 workers, window 8, 200 nudges/s), queue %s;"
      " devices: 4 KiB chunks, window 8, polling every 600 s, powered on at 100/s,"
      " %u sim threads\n\n",
      server_queue == 0 ? "16384 (default)" : std::to_string(server_queue).c_str(),
      std::thread::hardware_concurrency());
  std::fflush(stdout);

  const auto key = host::Key::Load(std::string(MQOTA_VECTORS_DIR) + "/ecdsa-p256-test-key.pem");
  try {
    const FanoutMeasure small = MeasureFanout(sizes.small, key);
    const FanoutMeasure large = MeasureFanout(sizes.large, key);
    const HaltMeasure halt = MeasureHalt(sizes.halt_devices, sizes.halt_payload, key);
    mt::TempDir registry_dir;
    const RegistryRates rates = MeasureRegistry(registry_dir.path(), sizes.registry_events);

    Table t(quick);
    FanoutRows(t, small, 3);
    FanoutRows(t, large, 10);
    const double peak =
        static_cast<double>(std::max(small.server.peak_rss_bytes, large.server.peak_rss_bytes));
    t.Goal("server peak RSS (VmHWM, both runs)", Format("%.1f MB", peak / 1e6), "", "<= 50 MB",
           peak <= 50e6, "the larger of the two fan-outs' peaks");
    if (halt.ok) {
      t.Info("halt: canary reverted -> halted",
             Format("%.0f ms", static_cast<double>(halt.halted_ms - halt.reverted_ms)), "",
             std::to_string(halt.offered) + " of " + std::to_string(sizes.halt_devices) +
                 " devices offered the bad image");
    } else {
      t.Info("halt: canary reverted -> halted", "failed", "", halt.error);
    }
    // What the registry must sustain: the large fan-out's events within its goal.
    const double need = static_cast<double>(large.registry_events) / 10.0;
    t.Goal("registry Record(), events/s", Format("%.0f", rates.registry_per_s),
           Format("raw %.0f", rates.raw_per_s), Format(">= %.0f", need),
           rates.registry_per_s >= need,
           "below the rate the 1000-device rollout records at its 10 s goal");
    t.Print();

    std::printf("\nlosses: %s: %s\nlosses: %s: %s\n", FleetName(small).c_str(),
                Losses(small).c_str(), FleetName(large).c_str(), Losses(large).c_str());
    std::printf("baseline runs (before and after ours, best shown):");
    for (double s : small.baseline_runs_s) std::printf(" %.2f s", s);
    std::printf("\ncampaign API call: %.0f ms (%s), %.0f ms (%s); registry rows: %lld, %lld\n",
                small.api_call_ms, FleetName(small).c_str(), large.api_call_ms,
                FleetName(large).c_str(), static_cast<long long>(small.registry_events),
                static_cast<long long>(large.registry_events));
    if (halt.ok) {
      std::printf("halt: created -> canary reverted %.2f s; \"%s\"\n", halt.created_to_reverted_s,
                  halt.reason.c_str());
    }
    std::printf(
        "fan-out: from POST /api/v1/campaigns sent to the last device's first `pending` (its\n"
        "image downloaded and verified) or `confirmed` event (device wall clock); baseline: N raw\n"
        "libmosquitto subscribers, each its own connection, asking one raw publisher for 4 KiB\n"
        "chunks, 8 in flight, first request to last chunk. push: the call's return to each\n"
        "device's first \"Update Availability\" after it. registry: %u events, one per\n"
        "transaction (raw: the same events table and pragmas, one INSERT per transaction).\n",
        sizes.registry_events);
    if (t.missed() > 0) std::printf("\n%zu goal(s) MISSED (see the reasons above)\n", t.missed());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mqota-bench-fleet: %s\n", e.what());
    return 1;
  }
  return 0;
}
