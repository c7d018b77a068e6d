// Several mqota-server instances on one broker and one PostgreSQL database
// (docs/scale-out.md), on loopback: the same workload served by 1, 2 and 3
// instances in one share group, the 1-instance run being the baseline.
//   rollout   a campaign of three waves (10 %, 50 %, 100 %) for N simulated
//             devices (the real agent and bootloader each), created through
//             instance 0's API: the call to the last device's `pending` and
//             `confirmed` (device clock), and to the campaign's completion
//   CPU       every instance's utime + stime (/proc) summed, and how busy the
//             whole machine was (/proc/stat): broker, PostgreSQL and the
//             simulated fleet share its cores with the servers
//   decision  a wave's gate met (the registry's time of the confirmation that
//             met it) to the next wave's first offer: the decision (Advance,
//             row-locked), then the nudge at the next tick of any instance
//   writes    the instances' registry writes under load, from their
//             /metrics histograms (mean; p50/p99 as the bucket bounds)
// Then the registry alone, in this process, on the same PostgreSQL:
//   RecordAll of one event and of 32 per transaction, p50/p99, beside a raw
//   libpq INSERT (autocommit) into the same events table; and Advance on one
//   campaign from 1, 2 and 3 connections at once (the campaign row lock).
#include <httplib.h>
#include <libpq-fe.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>

#include "fleet_bench_stage.h"
#include "mqota/fleet/campaign.h"
#include "mqota/fleet/open_registry.h"
#include "mqota/host/child_process.h"
#include "mqota/host/files.h"
#include "mqota/host/keys.h"
#include "mqota/host/signer.h"
#include "mqota/sim/fleet_sim.h"
#include "mqota/testing/broker.h"
#include "mqota/testing/files.h"
#include "mqota/testing/postgres.h"
#include "mqota/testing/process.h"
#include "mqota/testing/random_bytes.h"

namespace {

using namespace mqota;
using namespace mqota::bench;
using namespace std::chrono_literals;
using nlohmann::json;
namespace mt = mqota::testing;
using Clock = std::chrono::steady_clock;

std::string Format(const char* format, double value) {
  char text[256];
  std::snprintf(text, sizeof text, format, value);
  return text;
}

double Percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const auto rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(values.size())));
  return values[std::clamp<size_t>(rank, 1, values.size()) - 1];
}

// The machine's busy and total jiffies so far (/proc/stat's first line).
std::pair<uint64_t, uint64_t> CpuJiffies() {
  std::ifstream in("/proc/stat");
  std::string cpu;
  in >> cpu;
  uint64_t total = 0, idle = 0, value = 0;
  for (int i = 0; i < 10 && in >> value; ++i) {
    total += value;
    if (i == 3 || i == 4) idle += value;  // idle, iowait
  }
  return {total - idle, total};
}

double SelfCpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

struct Spec {
  size_t devices = 300;
  uint32_t image_payload = 64 * 1024 - 0x400 - 300;  // a 64 KiB image: 16 chunks
  std::chrono::seconds timeout{120};
};

struct RunMeasure {
  int instances = 0;
  std::string error;
  double to_pending_s = 0, to_confirmed_s = 0, to_completed_s = 0;
  size_t confirmed = 0;
  double server_cpu_s = 0;          // all instances
  double sim_cpu_s = 0;             // this process: the simulated fleet
  double machine_busy = 0;          // share of all cores busy over the rollout
  std::vector<double> decision_ms;  // per wave opened (and the completion)
  std::vector<int64_t> handled;     // chunk requests per instance (its /metrics)
  uint64_t writes = 0;
  double write_mean_ms = 0, write_p50_ms = 0, write_p99_ms = 0;  // bucket bounds
};

// The instances' registry write histograms added up: bucket bound (s) ->
// cumulative count, and the sum and count.
struct Histogram {
  std::map<double, uint64_t> buckets;
  double sum = 0;
  uint64_t count = 0;
  double Quantile(double q) const {
    const double want = q * static_cast<double>(count);
    for (const auto& [bound, cumulative] : buckets) {
      if (static_cast<double>(cumulative) >= want) return bound;
    }
    return buckets.empty() ? 0 : buckets.rbegin()->first;
  }
};

double SampleValue(const std::string& line) { return std::stod(line.substr(line.rfind(' ') + 1)); }

void AddMetrics(const std::string& text, Histogram& h, int64_t& chunks) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("mqota_registry_write_duration_seconds_bucket{le=\"", 0) == 0) {
      const size_t start = line.find('"') + 1;
      const std::string le = line.substr(start, line.find('"', start) - start);
      const double bound = le == "+Inf" ? 1e9 : std::stod(le);
      h.buckets[bound] += static_cast<uint64_t>(SampleValue(line));
    } else if (line.rfind("mqota_registry_write_duration_seconds_sum", 0) == 0) {
      h.sum += SampleValue(line);
    } else if (line.rfind("mqota_registry_write_duration_seconds_count", 0) == 0) {
      h.count += static_cast<uint64_t>(SampleValue(line));
    } else if (line.rfind("mqota_requests_total{message=\"request_data_chunk\"", 0) == 0) {
      chunks += static_cast<int64_t>(SampleValue(line));
    }
  }
}

class ScaleStage {
 public:
  ScaleStage(int instances, const Spec& spec, const host::Key& key, mt::PostgresServer& postgres)
      : spec_(spec), key_(key), postgres_(postgres) {
    database_ = "bench_scale_" + std::to_string(instances) + "_" + std::to_string(getpid());
    postgres_.CreateDatabase(database_);
    host::SignOptions sign;
    sign.header_size = 0x400;
    sign.pad_header = true;
    sign.align = 8;
    sign.slot_size = spec.image_payload + 0x10000;
    std::filesystem::create_directories(dir_ / "catalog");
    const std::array<image::ImageVersion, 2> versions = {image::ImageVersion{1, 0, 0, 0},
                                                         image::ImageVersion{1, 1, 0, 0}};
    for (const image::ImageVersion& v : versions) {
      sign.version = v;
      auto bytes = host::BuildSignedImage(
          mt::PseudoRandomBytes(spec.image_payload, v.minor * 16 + 1), sign, &key);
      if (v.minor == 0) {
        initial_ = std::move(bytes);
      } else {
        mt::WriteFileBytes(dir_ / "catalog" / "app-1.1.0.bin", bytes);
      }
    }
    host::WriteFileAtomically((dir_ / "key.pem").string(), key.PublicKeyPem(), 0644);
    BrokerLimits limits;
    limits.max_queued = static_cast<int>(std::max<size_t>(16000, spec.devices * 16));
    const int port = mt::FreeLoopbackPort();
    std::filesystem::create_directories(dir_ / "broker");
    {
      std::ofstream conf(dir_ / "broker" / "mosquitto.conf");
      conf << "user root\nper_listener_settings false\n"
           << "log_dest file " << (dir_ / "broker" / "mosquitto.log").string() << "\n"
           << BrokerConfigText(limits) << "allow_anonymous true\n"
           << "listener " << port << " 127.0.0.1\n";
    }
    broker_ = mt::MosquittoBroker::FromConfigFile(dir_ / "broker" / "mosquitto.conf", port,
                                                  dir_ / "broker" / "mosquitto.log");
    for (int i = 0; i < instances; ++i) {
      const std::string n = std::to_string(i);
      api_ports_.push_back(mt::FreeLoopbackPort());
      servers_.push_back(std::make_unique<host::ChildProcess>(
          "server-" + n,
          std::vector<std::string>{mt::BinPath("mqota-server"),
                                   "--db",
                                   postgres_.Url(database_),
                                   "--port",
                                   std::to_string(port),
                                   "--board",
                                   kFleetBoard,
                                   "--catalog",
                                   (dir_ / "catalog").string(),
                                   "--verify-key",
                                   (dir_ / "key.pem").string(),
                                   "--share-group",
                                   "bench",
                                   "--client-id",
                                   "server-" + n,
                                   "--api",
                                   "127.0.0.1:" + std::to_string(api_ports_.back()),
                                   "--api-token-file",
                                   (dir_ / ("token-" + n)).string(),
                                   "--viewer-token-file",
                                   (dir_ / ("viewer-" + n)).string(),
                                   "--patch-cache",
                                   (dir_ / ("patches-" + n)).string(),
                                   "--log-level",
                                   "warn"},
          dir_ / ("server-" + n + ".log")));
    }
    for (int i = 0; i < instances; ++i) {
      const auto token = dir_ / ("token-" + std::to_string(i));
      if (!WaitFor([&] { return !ReadText(token).empty() && ApiUp(i); }, 20s)) {
        throw std::runtime_error("server-" + std::to_string(i) + " did not come up:\n" +
                                 host::Tail(dir_ / ("server-" + std::to_string(i) + ".log"), 20));
      }
    }
  }
  ~ScaleStage() {
    if (fleet_) fleet_->Stop();
    for (auto& s : servers_) s->Stop();
    try {
      postgres_.DropDatabase(database_);
    } catch (const std::exception&) {
    }
  }
  ScaleStage(const ScaleStage&) = delete;
  ScaleStage& operator=(const ScaleStage&) = delete;

  std::string Token(int i) const {
    std::string t = ReadText(dir_ / ("token-" + std::to_string(i)));
    while (!t.empty() && (t.back() == '\n' || t.back() == '\r')) t.pop_back();
    return t;
  }
  httplib::Result Get(int i, const std::string& path) const {
    httplib::Client client("127.0.0.1", api_ports_[static_cast<size_t>(i)]);
    client.set_connection_timeout(2, 0);
    client.set_read_timeout(30, 0);
    client.set_bearer_token_auth(Token(i));
    return client.Get(path);
  }
  bool ApiUp(int i) const {
    const auto r = Get(i, "/api/v1/campaigns");
    return r && r->status == 200;
  }
  std::string Sql(const std::string& sql) const { return postgres_.Sql(database_, sql); }
  size_t Count(const std::string& sql) const {
    const std::string out = Sql(sql);
    return out.empty() ? 0 : std::stoul(out);
  }

  void StartFleet() {
    sim::FleetOptions o;
    o.devices = spec_.devices;
    o.board = kFleetBoard;
    o.initial_image = initial_;
    o.trusted_keys_der = {key_.PublicKeyDer()};
    o.trusted_key_types = {image::SignatureType::kEcdsaP256};
    o.broker_port = broker_->port();
    o.check_interval_ms = 600000;  // only nudges make them ask
    o.watchdog_ms = 1000;
    o.ramp = std::chrono::milliseconds(spec_.devices * 10);  // 100 a second
    log_.set_callback([this](const sim::SimEvent& e) {
      std::lock_guard lock(mutex_);
      events_.push_back(e);
    });
    fleet_.emplace(o, log_);
    fleet_->Start();
    if (!WaitFor(
            [&] {
              return Count("SELECT count(*) FROM devices WHERE online AND version = '1.0.0'") ==
                     spec_.devices;
            },
            o.ramp + 30s, 250ms)) {
      throw std::runtime_error(std::to_string(Count("SELECT count(*) FROM devices WHERE online")) +
                               " of " + std::to_string(spec_.devices) +
                               " devices online in the registry");
    }
  }

  int64_t CreateCampaign() {
    httplib::Client client("127.0.0.1", api_ports_[0]);
    client.set_read_timeout(30, 0);
    client.set_bearer_token_auth(Token(0));
    const json body = {{"name", "scale"},
                       {"image", {{"board", kFleetBoard}, {"version", "1.1.0"}}},
                       {"waves", "10%,50%"},
                       {"success_percent", 100},
                       {"failure_percent", 0}};
    const auto r = client.Post("/api/v1/campaigns", body.dump(), "application/json");
    if (!r || r->status >= 400) {
      throw std::runtime_error("POST /api/v1/campaigns: " +
                               (r ? r->body : httplib::to_string(r.error())));
    }
    return json::parse(r->body).value("id", int64_t{0});
  }

  std::vector<sim::SimEvent> Events() const {
    std::lock_guard lock(mutex_);
    return events_;
  }
  ProcessStats ServerStats(size_t i) const {
    return ReadProcessStats(servers_[i]->pid()).value_or(ProcessStats{});
  }
  size_t instances() const { return servers_.size(); }

 private:
  Spec spec_;
  const host::Key& key_;
  mt::PostgresServer& postgres_;
  std::string database_;
  mt::TempDir dir_;
  std::vector<uint8_t> initial_;
  std::unique_ptr<mt::MosquittoBroker> broker_;
  std::vector<int> api_ports_;
  std::vector<std::unique_ptr<host::ChildProcess>> servers_;
  sim::EventLog log_;
  mutable std::mutex mutex_;
  std::vector<sim::SimEvent> events_;
  std::optional<sim::FleetSim> fleet_;  // last: stopped first
};

RunMeasure MeasureRollout(int instances, const Spec& spec, const host::Key& key,
                          mt::PostgresServer& postgres) {
  RunMeasure m;
  m.instances = instances;
  try {
    ScaleStage stage(instances, spec, key, postgres);
    stage.StartFleet();
    std::vector<double> cpu_before;
    for (size_t i = 0; i < stage.instances(); ++i) {
      cpu_before.push_back(stage.ServerStats(i).cpu_seconds);
    }
    const double sim_before = SelfCpuSeconds();
    const auto [busy0, total0] = CpuJiffies();
    const int64_t sent = WallMs();
    const int64_t id = stage.CreateCampaign();
    const std::string campaign = std::to_string(id);
    const bool done = WaitFor(
        [&] {
          return stage.Sql("SELECT status FROM campaigns WHERE id = " + campaign) == "completed";
        },
        spec.timeout, 100ms);
    const int64_t finished = WallMs();
    const auto [busy1, total1] = CpuJiffies();
    m.sim_cpu_s = SelfCpuSeconds() - sim_before;
    m.machine_busy = total1 > total0
                         ? static_cast<double>(busy1 - busy0) / static_cast<double>(total1 - total0)
                         : 0;
    for (size_t i = 0; i < stage.instances(); ++i) {
      m.server_cpu_s += stage.ServerStats(i).cpu_seconds - cpu_before[i];
    }
    m.to_completed_s = static_cast<double>(finished - sent) / 1000.0;
    if (!done) m.error = "not completed within " + std::to_string(spec.timeout.count()) + " s";
    int64_t last_pending = 0, last_confirmed = 0;
    std::set<std::string> confirmed;
    for (const auto& e : stage.Events()) {
      if (e.version != "1.1.0") continue;
      if (e.name == "pending") last_pending = std::max(last_pending, e.time_ms);
      if (e.name == "confirmed") {
        last_confirmed = std::max(last_confirmed, e.time_ms);
        confirmed.insert(e.device);
      }
    }
    m.confirmed = confirmed.size();
    m.to_pending_s = static_cast<double>(last_pending - sent) / 1000.0;
    m.to_confirmed_s = static_cast<double>(last_confirmed - sent) / 1000.0;
    // Gate met (the registry's time of the last confirmation of wave k)
    // to the first offer of wave k + 1.
    const std::string per_wave = stage.Sql(
        "SELECT d.wave, max(e.time) FILTER (WHERE e.kind = 'confirmed'), "
        "min(e.time) FILTER (WHERE e.kind = 'offered') FROM campaign_devices d JOIN events e "
        "ON e.device = d.device AND e.campaign = d.campaign WHERE d.campaign = " +
        campaign + " GROUP BY d.wave ORDER BY d.wave");
    std::vector<std::pair<int64_t, int64_t>> waves;  // (last confirmed, first offered)
    std::istringstream rows(per_wave);
    for (std::string row; std::getline(rows, row);) {
      const size_t a = row.find('|'), b = row.find('|', a + 1);
      if (a == std::string::npos || b == std::string::npos) continue;
      const std::string confirmed_at = row.substr(a + 1, b - a - 1);
      const std::string offered_at = row.substr(b + 1);
      waves.emplace_back(confirmed_at.empty() ? 0 : std::stoll(confirmed_at),
                         offered_at.empty() ? 0 : std::stoll(offered_at));
    }
    for (size_t w = 0; w + 1 < waves.size(); ++w) {
      m.decision_ms.push_back(static_cast<double>(waves[w + 1].second - waves[w].first));
    }
    Histogram h;
    for (size_t i = 0; i < stage.instances(); ++i) {
      const auto r = stage.Get(static_cast<int>(i), "/metrics");
      int64_t chunks = 0;
      if (r && r->status == 200) AddMetrics(r->body, h, chunks);
      m.handled.push_back(chunks);
    }
    m.writes = h.count;
    if (h.count > 0) {
      m.write_mean_ms = h.sum / static_cast<double>(h.count) * 1000.0;
      m.write_p50_ms = h.Quantile(0.5) * 1000.0;
      m.write_p99_ms = h.Quantile(0.99) * 1000.0;
    }
  } catch (const std::exception& e) {
    m.error = e.what();
  }
  return m;
}

// --- The registry alone ----------------------------------------------------

struct RegistryMeasure {
  std::vector<double> one_ms, batch_ms, raw_ms;   // per transaction
  std::map<int, std::vector<double>> advance_ms;  // connections -> per call
  std::string error;
};

fleet::DeviceEvent Event(const std::string& device, int64_t time) {
  fleet::DeviceEvent e;
  e.device = device;
  e.time = time;
  e.kind = fleet::EventKind::kDownloading;
  e.version = "1.1.0";
  e.percent = 50;
  return e;
}

RegistryMeasure MeasureRegistry(mt::PostgresServer& postgres, int calls) {
  RegistryMeasure m;
  const std::string database = "bench_registry_" + std::to_string(getpid());
  postgres.CreateDatabase(database);
  try {
    auto registry = fleet::OpenRegistry(postgres.Url(database)).registry;
    const int64_t now = WallMs();
    fleet::Image image;
    image.board = "B";
    image.version = "1.1.0";
    image.sha256 = std::string(64, 'a');
    image.size = 1000;
    image.path = "x";
    image.added = now;
    const int64_t image_id = registry->AddImage(image);
    for (int i = 0; i < 100; ++i) {
      fleet::DeviceSighting s;
      s.device = "dev-" + std::to_string(i);
      s.board = "B";
      s.version = "1.0.0";
      s.verified = true;
      s.time = now;
      registry->SeeDevice(s);
    }
    fleet::NewCampaign c;
    c.name = "bench";
    c.image = image_id;
    std::string error;
    c.rules.waves = *fleet::ParseWaves("10%,50%", &error);
    c.time = now;
    const int64_t campaign = registry->CreateCampaign(c);

    for (int i = 0; i < calls; ++i) {
      const fleet::DeviceEvent e = Event("dev-" + std::to_string(i % 100), now + i);
      const auto t0 = Clock::now();
      registry->RecordAll(std::span(&e, 1));
      m.one_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    }
    for (int i = 0; i < calls / 4; ++i) {
      std::vector<fleet::DeviceEvent> batch;
      for (int j = 0; j < 32; ++j) batch.push_back(Event("dev-" + std::to_string(j), now + i));
      const auto t0 = Clock::now();
      registry->RecordAll(batch);
      m.batch_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    }
    // Raw: libpq, one INSERT per transaction (autocommit), the same table.
    PGconn* pg = PQconnectdb(postgres.Url(database).c_str());
    if (PQstatus(pg) == CONNECTION_OK) {
      for (int i = 0; i < calls; ++i) {
        const std::string device = "dev-" + std::to_string(i % 100);
        const std::string time = std::to_string(now + i);
        const char* values[] = {time.c_str(), device.c_str()};
        const auto t0 = Clock::now();
        PGresult* r = PQexecParams(pg,
                                   "INSERT INTO events (time, device, kind, version, percent, "
                                   "verified) VALUES ($1, $2, 'downloading', '1.1.0', 50, TRUE)",
                                   2, nullptr, values, nullptr, nullptr, 0);
        m.raw_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
        PQclear(r);
      }
    }
    PQfinish(pg);
    // Advance on one campaign from K connections at once.
    for (const int k : {1, 2, 3}) {
      std::vector<std::unique_ptr<fleet::Registry>> registries;
      for (int i = 0; i < k; ++i) {
        registries.push_back(fleet::OpenRegistry(postgres.Url(database)).registry);
      }
      std::vector<std::vector<double>> times(static_cast<size_t>(k));
      std::vector<std::thread> threads;
      for (int i = 0; i < k; ++i) {
        threads.emplace_back([&, i] {
          for (int j = 0; j < calls / 2; ++j) {
            const auto t0 = Clock::now();
            registries[static_cast<size_t>(i)]->Advance(campaign, WallMs());
            times[static_cast<size_t>(i)].push_back(
                std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
          }
        });
      }
      for (auto& t : threads) t.join();
      for (const auto& t : times) {
        m.advance_ms[k].insert(m.advance_ms[k].end(), t.begin(), t.end());
      }
    }
  } catch (const std::exception& e) {
    m.error = e.what();
  }
  try {
    postgres.DropDatabase(database);
  } catch (const std::exception&) {
  }
  return m;
}

void PrintHelp() {
  std::printf(
      "usage: mqota-bench-scale [--quick] [--devices N] [--instances N]\n"
      "1, 2 and 3 mqota-server instances in one share group (PostgreSQL registry, one\n"
      "mosquitto) serving the same campaign to a simulated fleet, each beside the 1-instance\n"
      "run; then the PostgreSQL registry's write and decision latencies alone.\n"
      "  --quick        30 devices, 16 KiB images, fewer registry calls (a smoke test)\n"
      "  --devices N    devices in the fleet (default 300)\n"
      "  --instances N  up to N instances (default 3)\n");
}

}  // namespace

int main(int argc, char** argv) {
  Spec spec;
  bool quick = false;
  int max_instances = 3;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--help") == 0 || std::strcmp(argv[i], "-h") == 0) {
      PrintHelp();
      return 0;
    } else if (std::strcmp(argv[i], "--quick") == 0) {
      quick = true;
    } else if (std::strcmp(argv[i], "--devices") == 0 && i + 1 < argc &&
               std::atoi(argv[i + 1]) > 0) {
      spec.devices = static_cast<size_t>(std::atoi(argv[++i]));
    } else if (std::strcmp(argv[i], "--instances") == 0 && i + 1 < argc &&
               std::atoi(argv[i + 1]) > 0) {
      max_instances = std::min(8, std::atoi(argv[++i]));
    } else {
      std::fprintf(stderr, "mqota-bench-scale: unknown argument \"%s\" (try --help)\n", argv[i]);
      return 2;
    }
  }
  if (quick) {
    spec.devices = 30;
    spec.image_payload = 16 * 1024;
    spec.timeout = 60s;
  }
  if (!mt::PostgresServer::FindBinaries()) {
    std::fprintf(stderr, "mqota-bench-scale: %s\n", mt::PostgresServer::MissingBinaries().c_str());
    return 1;
  }
  std::string load;
  {
    std::string a, b, c;
    std::ifstream("/proc/loadavg") >> a >> b >> c;
    load = a + " " + b + " " + c;
  }
  std::printf(
      "scale-out: N mqota-server instances (--share-group, 4 workers each) on one mosquitto and\n"
      "one PostgreSQL (fsync off: a test cluster), the simulated fleet in this process\n");
  std::printf("environment: %u cores, load average %s at start\n",
              std::thread::hardware_concurrency(), load.c_str());
  std::printf(
      "workload: %zu devices x %.0f KiB image (4 KiB chunks, window 8), a campaign of\n"
      "3 waves (10%%, 50%%, 100%%; 100%% confirmed opens the next), devices polling every\n"
      "600 s (nudged)\n\n",
      spec.devices, (spec.image_payload + 0x400 + 300) / 1024.0);
  std::fflush(stdout);
  const auto key = host::Key::Load(std::string(MQOTA_VECTORS_DIR) + "/ecdsa-p256-test-key.pem");
  try {
    mt::PostgresServer postgres;
    std::vector<RunMeasure> runs;
    for (int n = 1; n <= max_instances; ++n) {
      runs.push_back(MeasureRollout(n, spec, key, postgres));
      const RunMeasure& r = runs.back();
      std::printf("  ran %d instance%s: %s\n", n, n == 1 ? "" : "s",
                  r.error.empty() ? "ok" : r.error.c_str());
      std::fflush(stdout);
    }
    const RegistryMeasure reg = MeasureRegistry(postgres, quick ? 100 : 1000);

    const RunMeasure& base = runs.front();
    std::printf("\n%-12s %10s %10s %10s %9s %9s %8s %9s %10s %10s\n", "instances", "to pending",
                "confirmed", "completed", "vs 1", "srv CPU", "sim CPU", "machine", "decision",
                "write p99");
    for (const RunMeasure& r : runs) {
      const double ratio = r.to_confirmed_s > 0 ? base.to_confirmed_s / r.to_confirmed_s : 0;
      std::printf("%-12d %9.2fs %9.2fs %9.2fs %8.2fx %8.2fs %7.2fs %8.0f%% %8.0fms %8.0fms\n",
                  r.instances, r.to_pending_s, r.to_confirmed_s, r.to_completed_s, ratio,
                  r.server_cpu_s, r.sim_cpu_s, r.machine_busy * 100,
                  r.decision_ms.empty()
                      ? 0.0
                      : *std::max_element(r.decision_ms.begin(), r.decision_ms.end()),
                  r.write_p99_ms);
    }
    std::printf("\nper run:\n");
    for (const RunMeasure& r : runs) {
      std::string decisions, handled;
      for (double d : r.decision_ms) decisions += Format(" %.0f ms", d);
      for (int64_t h : r.handled) handled += " " + std::to_string(h);
      std::printf(
          "  %d: %zu of %zu confirmed; gate -> next wave's first offer:%s; registry writes %llu,"
          " mean %.1f ms, p50 <= %.0f ms, p99 <= %.0f ms; chunk requests per instance:%s%s\n",
          r.instances, r.confirmed, spec.devices, decisions.c_str(),
          static_cast<unsigned long long>(r.writes), r.write_mean_ms, r.write_p50_ms,
          r.write_p99_ms, handled.c_str(), r.error.empty() ? "" : ("; " + r.error).c_str());
    }
    if (reg.error.empty()) {
      std::printf("\nregistry alone (PostgreSQL on loopback, idle machine, one connection):\n");
      std::printf("  %-40s p50 %6.2f ms  p99 %6.2f ms\n", "RecordAll, 1 event / transaction",
                  Percentile(reg.one_ms, 50), Percentile(reg.one_ms, 99));
      std::printf("  %-40s p50 %6.2f ms  p99 %6.2f ms\n", "RecordAll, 32 events / transaction",
                  Percentile(reg.batch_ms, 50), Percentile(reg.batch_ms, 99));
      std::printf("  %-40s p50 %6.2f ms  p99 %6.2f ms   (baseline)\n",
                  "raw libpq INSERT, autocommit", Percentile(reg.raw_ms, 50),
                  Percentile(reg.raw_ms, 99));
      for (const auto& [k, times] : reg.advance_ms) {
        std::printf("  Advance on one campaign, %d connection%s  p50 %6.2f ms  p99 %6.2f ms%s\n", k,
                    k == 1 ? ": " : "s:", Percentile(times, 50), Percentile(times, 99),
                    k == 1 ? "   (baseline)" : "");
      }
    } else {
      std::printf("\nregistry alone: failed: %s\n", reg.error.c_str());
    }
    std::printf(
        "\ngoals: N instances finish no later than 1 (>= 0.9x); decision (gate -> next offer)"
        " <= 1500 ms;\nRecordAll p99 <= 20 ms alone; Advance p99 with 3 connections <= 50 ms.\n");
    size_t missed = 0;
    for (const RunMeasure& r : runs) {
      const double ratio = r.to_confirmed_s > 0 ? base.to_confirmed_s / r.to_confirmed_s : 0;
      const double decision =
          r.decision_ms.empty() ? 0 : *std::max_element(r.decision_ms.begin(), r.decision_ms.end());
      if (!r.error.empty() || (!quick && ratio < 0.9)) {
        ++missed;
        std::printf("MISSED: %d instances: %.2fx of one instance's time%s\n", r.instances, ratio,
                    r.error.empty() ? "" : (" (" + r.error + ")").c_str());
      }
      if (!quick && decision > 1500) {
        ++missed;
        std::printf("MISSED: %d instances: a decision took %.0f ms\n", r.instances, decision);
      }
    }
    if (!quick && reg.error.empty()) {
      if (Percentile(reg.one_ms, 99) > 20) {
        ++missed;
        std::printf("MISSED: RecordAll p99 %.1f ms\n", Percentile(reg.one_ms, 99));
      }
      if (Percentile(reg.advance_ms.at(3), 99) > 50) {
        ++missed;
        std::printf("MISSED: Advance p99 with 3 connections %.1f ms\n",
                    Percentile(reg.advance_ms.at(3), 99));
      }
    }
    std::printf("%s\n", missed == 0 ? "every goal met" : "some goals MISSED (above)");
    if (quick) {
      for (const RunMeasure& r : runs) {
        if (!r.error.empty() || r.confirmed != spec.devices) return 1;
      }
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mqota-bench-scale: %s\n", e.what());
    return 1;
  }
  return 0;
}
