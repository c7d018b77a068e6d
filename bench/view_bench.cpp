// The operator's view at scale (docs/dashboard.md#measured): a SQLite
// registry of 10 000 devices with a week of history (view_bench_fleet.h),
// served by mqota-server's own HTTP listener and API (HttpApiServer over
// Api, in this process: what mqota-server runs, without the MQTT side), and
// the dashboard in headless Chromium (view_browser.h):
//   api   p50/p99 of each call the fleet and campaigns pages make, one at a
//         time over a kept-alive loopback connection, as the page does
//   load  #/fleet opened afresh: navigation start to the device table and
//         the versions chart drawn (the page's performance.now())
//   lag   an event recorded through the Registry (what the server's
//         EventWriter does for a device's report) to the fleet page showing
//         the device's new state (a MutationObserver in the page)
// Every figure beside a baseline measured in the same run (the same with
// 100 devices) and beside the 2 s goal; a missed goal says so and the exit
// status is 1.
#include <httplib.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <future>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "mqota/fleet/sqlite_registry.h"
#include "mqota/server/api.h"
#include "mqota/server/http_api_server.h"
#include "mqota/testing/files.h"
#include "view_bench_fleet.h"
#include "view_browser.h"

namespace {

using namespace mqota;
using namespace mqota::bench;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr double kGoalMs = 2000;

struct Options {
  size_t devices = 10000;
  size_t baseline_devices = 100;
  int calls = 200;  // per API route
  int loads = 10;   // page loads
  int lags = 20;    // events watched
  bool quick = false;
};

struct Stats {
  std::vector<double> ms;
  double Percentile(double p) const {
    if (ms.empty()) return 0;
    std::vector<double> sorted = ms;
    std::sort(sorted.begin(), sorted.end());
    const size_t i = std::min(sorted.size() - 1,
                              static_cast<size_t>(p / 100.0 * static_cast<double>(sorted.size())));
    return sorted[i];
  }
};

// What the pages ask for, polled every second: the fleet page's three, the
// campaigns page's one, the images page's two.
const std::vector<std::pair<std::string, std::string>> kRoutes = {
    {"summary", "/api/v1/summary"},
    {"devices (first 500)", "/api/v1/devices?limit=500"},
    {"versions history (day)", "/api/v1/versions/history?window=86400"},
    {"versions history (week)", "/api/v1/versions/history?window=604800"},
    {"campaigns", "/api/v1/campaigns"},
    {"images", "/api/v1/images"},
};

struct Figures {
  SeededFleet fleet;
  std::map<std::string, Stats> api;
  std::map<std::string, size_t> bytes;
  Stats load;
  Stats lag;
};

fleet::TimeMs WallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

double MsSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// Resolves with performance.now() once the fleet page shows its device
// table (with rows) and the chart: checked at once and at every change of
// the page.
constexpr char kWaitForFleet[] = R"js(
const done = arguments[arguments.length - 1];
const ready = () => document.querySelector('#devices tbody tr') &&
                    document.querySelector('#version-chart g.series');
if (ready()) { done(performance.now()); return; }
const seen = new MutationObserver(() => {
  if (ready()) { seen.disconnect(); done(performance.now()); }
});
seen.observe(document, {childList: true, subtree: true});
)js";

// Resolves with Date.now() once the device's row shows `state`.
constexpr char kWaitForState[] = R"js(
const [device, state] = arguments;
const done = arguments[arguments.length - 1];
const shows = () => {
  const row = document.querySelector('#devices tr[data-device="' + device + '"]');
  return row && row.children[3].textContent === state;
};
if (shows()) { done(Date.now()); return; }
const seen = new MutationObserver(() => {
  if (shows()) { seen.disconnect(); done(Date.now()); }
});
seen.observe(document.getElementById('main'), {childList: true, subtree: true});
)js";

void MeasureBrowser(Browser& browser, const std::string& base, const std::string& token,
                    fleet::Registry& registry, const Options& o, Figures& f) {
  browser.Go(base + "/ui/login#token=" + token);
  for (int i = 0; i < 100; ++i) {  // login.js posts the token and is sent on to /ui/
    if (browser.Run("return location.pathname") == "/ui/") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  for (int i = 0; i < o.loads; ++i) {
    browser.Go("about:blank");
    browser.Go(base + "/ui/#/fleet");
    f.load.ms.push_back(browser.RunAsync(kWaitForFleet).get<double>());
  }
  // The page is on #/fleet, polling. Each round: an event at a random
  // moment of the poll's second, then the wall time until the row shows it.
  const fleet::EventKind kinds[] = {fleet::EventKind::kDownloaded, fleet::EventKind::kVerified,
                                    fleet::EventKind::kPending, fleet::EventKind::kBooted};
  for (int i = 0; i < o.lags; ++i) {
    const fleet::EventKind kind = kinds[i % 4];
    const std::string state(fleet::EventKindName(kind));
    auto seen = std::async(std::launch::async, [&] {
      return browser.RunAsync(kWaitForState, {kWatchedDevice, state}).get<double>();
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(200 + (i * 377) % 1000));
    fleet::DeviceEvent e;
    e.device = kWatchedDevice;
    e.kind = kind;
    e.version = "1.2.0";
    e.time = WallMs();
    const fleet::TimeMs recorded = e.time;
    registry.Record(e);
    f.lag.ms.push_back(seen.get() - static_cast<double>(recorded));
  }
}

Figures Measure(size_t devices, const Options& o, Browser* browser) {
  testing::TempDir dir;
  const fleet::TimeMs now = WallMs();
  Figures f;
  f.fleet = SeedFleet(dir / "fleet.db", devices, now);
  auto registry = fleet::OpenSqliteRegistry(dir / "fleet.db");
  const std::string token = server::NewApiToken();
  server::Api api(*registry, token, {}, "");
  server::Logger log(server::LogLevel::kError);
  server::HttpApiServer http(api, log);
  http.Start("127.0.0.1", 0);
  httplib::Client client("127.0.0.1", http.port());
  client.set_keep_alive(true);
  client.set_tcp_nodelay(true);  // as browsers do
  client.set_read_timeout(30, 0);
  const httplib::Headers headers = {{"Authorization", "Bearer " + token}};
  for (const auto& [name, path] : kRoutes) {
    for (int i = 0; i < o.calls + 1; ++i) {
      const auto start = Clock::now();
      const auto r = client.Get(path, headers);
      const double ms = MsSince(start);
      if (!r || r->status != 200) {
        throw std::runtime_error("GET " + path + ": " + (r ? r->body : std::string("no answer")));
      }
      if (i == 0) {  // the first warms the connection and the page cache
        f.bytes[name] = r->body.size();
        continue;
      }
      f.api[name].ms.push_back(ms);
    }
  }
  if (browser)
    MeasureBrowser(*browser, "http://127.0.0.1:" + std::to_string(http.port()), token, *registry, o,
                   f);
  http.Stop();
  return f;
}

bool Row(const std::string& what, const Stats& base, const Stats& big, bool judge, bool use_max) {
  const double high_b =
      use_max ? *std::max_element(base.ms.begin(), base.ms.end()) : base.Percentile(99);
  const double high =
      use_max ? *std::max_element(big.ms.begin(), big.ms.end()) : big.Percentile(99);
  const bool met = high <= kGoalMs;
  std::printf("  %-26s %8.1f / %-8.1f %8.1f / %-8.1f  %s\n", what.c_str(), base.Percentile(50),
              high_b, big.Percentile(50), high,
              !judge ? "(not judged: --quick)"
              : met  ? "<= 2000 ms: met"
                     : "> 2000 ms: MISSED");
  return met || !judge;
}

int Usage() {
  std::fprintf(stderr,
               "usage: mqota-bench-view [--devices N] [--baseline-devices N] [--calls N] "
               "[--loads N] [--lags N] [--no-browser] [--quick]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  bool browser_wanted = true;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const auto number = [&](size_t& out) {
      if (i + 1 >= argc) return false;
      out = std::strtoull(argv[++i], nullptr, 10);
      return out > 0;
    };
    size_t n = 0;
    if (a == "--quick") {
      o.quick = true;
      o.devices = 500;
      o.calls = 10;
      o.loads = 1;
      o.lags = 1;
    } else if (a == "--no-browser") {
      browser_wanted = false;
    } else if (a == "--devices" && number(n)) {
      o.devices = n;
    } else if (a == "--baseline-devices" && number(n)) {
      o.baseline_devices = n;
    } else if (a == "--calls" && number(n)) {
      o.calls = static_cast<int>(n);
    } else if (a == "--loads" && number(n)) {
      o.loads = static_cast<int>(n);
    } else if (a == "--lags" && number(n)) {
      o.lags = static_cast<int>(n);
    } else {
      return Usage();
    }
  }
  if (o.devices < 10 || o.baseline_devices < 10) {
    std::fprintf(stderr, "mqota-bench-view: at least 10 devices (every board needs some)\n");
    return 2;
  }
  try {
    std::unique_ptr<Browser> browser;
    testing::TempDir browser_dir;
    if (browser_wanted) {
      if (const std::string why = Browser::Unavailable(); !why.empty()) {
        std::printf("no browser: %s; the page load and the lag are not measured\n", why.c_str());
      } else {
        browser = std::make_unique<Browser>(browser_dir.path());
      }
    }
    std::printf(
        "mqota-bench-view: %zu devices (baseline: %zu), SQLite registry on disk, "
        "mqota-server's HTTP listener in this process, loopback\n",
        o.devices, o.baseline_devices);
    const Figures base = Measure(o.baseline_devices, o, browser.get());
    const Figures big = Measure(o.devices, o, browser.get());
    for (const Figures* f : {&base, &big}) {
      std::printf("registry: %zu devices, %zu events, %zu version changes, written in %.1f s\n",
                  f->fleet.devices, f->fleet.events, f->fleet.version_changes, f->fleet.seconds);
    }
    const bool judge = !o.quick;
    bool ok = true;
    std::printf(
        "\nAPI, %d calls each, ms   %8zu devices      %8zu devices       goal\n"
        "                             p50 / p99            p50 / p99\n",
        o.calls, o.baseline_devices, o.devices);
    for (const auto& [name, path] : kRoutes) {
      ok &= Row(name, base.api.at(name), big.api.at(name), judge, false);
    }
    std::printf("  answer sizes at %zu devices:", o.devices);
    for (const auto& [name, bytes] : big.bytes)
      std::printf(" %s %zu KB;", name.c_str(), bytes / 1024);
    std::printf("\n");
    if (browser) {
      std::printf("\nheadless Chromium, ms        p50 / p99            p50 / p99\n");
      ok &= Row("page load (" + std::to_string(o.loads) + " loads)", base.load, big.load, judge,
                false);
      std::printf("                             p50 / max            p50 / max\n");
      ok &= Row("event to page (" + std::to_string(o.lags) + ")", base.lag, big.lag, judge, true);
      std::printf(
          "  (the page polls every 1000 ms: the lag is up to one poll plus its requests)\n");
    }
    std::printf("\n%s\n", !judge ? "goals not judged (--quick)"
                          : ok   ? "every figure within the 2 s goal"
                                 : "a goal was MISSED (above)");
    return ok ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mqota-bench-view: %s\n", e.what());
    return 1;
  }
}
