// The operator's view as an operator and Prometheus see it: a real
// mosquitto, the mqota-server binary with its SQLite registry, a simulated
// fleet, and its HTTP listener read over HTTP: /metrics scraped, parsed and
// checked with promtool while devices work, and the dashboard driven in
// headless Chromium (tests/fleet/dashboard_browser.py) with screenshots of
// every page written to build/dashboard/.
#include <gtest/gtest.h>
#include <httplib.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <thread>

#include "fleet_stage.h"
#include "mqota/host/hex.h"

namespace mqota {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;
namespace mt = mqota::testing;
using Clock = std::chrono::steady_clock;

constexpr const char* kBoard = mt::kFleetBoard;
constexpr size_t kDevices = 6;

// "name{labels}" -> value, from the text format.
std::map<std::string, double> ParseMetrics(const std::string& text) {
  std::map<std::string, double> samples;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    const size_t space = line.rfind(' ');
    samples[line.substr(0, space)] = std::stod(line.substr(space + 1));
  }
  return samples;
}

class FleetView : public mt::FleetStage {
 protected:
  FleetView() : FleetStage({{1, 1, 0, 0}, {1, 2, 0, 0}}, " dashboard: http") {
    operator_token_ = FirstLine(dir_ / "fleet.db.token");
    viewer_token_ = FirstLine(dir_ / "fleet.db.viewer-token");
  }

  static std::string FirstLine(const std::filesystem::path& path) {
    std::ifstream in(path);
    std::string line;
    std::getline(in, line);
    return line;
  }

  sim::FleetOptions FleetOptions(size_t devices, const std::string& id_prefix) const {
    sim::FleetOptions o = SimOptions(devices);
    o.id_prefix = id_prefix;
    o.faults.hang_versions = {{1, 2, 0, 0}};
    o.threads = 2;
    return o;
  }

  // kDevices simulated devices, and (`hostile`) one more whose id is markup.
  void StartFleet(bool hostile) {
    fleet_.emplace(FleetOptions(kDevices, "sim-"), events_);
    fleet_->Start();
    size_t expected = kDevices;
    if (hostile) {
      hostile_.emplace(FleetOptions(1, "<script>x"), events_);
      hostile_->Start();
      ++expected;
    }
    ASSERT_TRUE(
        WaitFor([&] { return Get("/api/v1/summary").value("devices", 0u) == expected; }, 20s))
        << ServerLog();
  }

  httplib::Result Http(const std::string& method, const std::string& path, const std::string& token,
                       const std::string& body = "") {
    httplib::Client client("127.0.0.1", api_port_);
    client.set_read_timeout(10, 0);
    httplib::Headers headers;
    if (!token.empty()) headers.emplace("Authorization", "Bearer " + token);
    if (method == "POST") return client.Post(path, headers, body, "application/json");
    return client.Get(path, headers);
  }
  json Get(const std::string& path) {
    const auto r = Http("GET", path, operator_token_);
    if (!r || r->status != 200) return json::object();
    return json::parse(r->body, nullptr, false);
  }
  int64_t CreateCampaign(const std::string& version, const std::string& waves) {
    const json body = {{"name", "release " + version},
                       {"image", {{"board", kBoard}, {"version", version}}},
                       {"waves", waves},
                       {"failure_percent", 0}};
    const auto r = Http("POST", "/api/v1/campaigns", operator_token_, body.dump());
    EXPECT_TRUE(r && r->status == 201) << (r ? r->body : "no answer");
    return r ? json::parse(r->body, nullptr, false).value("id", int64_t{0}) : 0;
  }
  std::string Status(int64_t id) {
    return Get("/api/v1/campaigns/" + std::to_string(id)).value("status", "");
  }
  std::map<std::string, double> Scrape() {
    const auto r = Http("GET", "/metrics", viewer_token_);
    EXPECT_TRUE(r && r->status == 200);
    if (!r) return {};
    last_scrape_ = r->body;
    return ParseMetrics(r->body);
  }

  std::string operator_token_, viewer_token_, last_scrape_;
  sim::EventLog events_;
  std::optional<sim::FleetSim> hostile_;
  std::optional<sim::FleetSim> fleet_;  // last: stopped before what it uses
};

TEST_F(FleetView, MetricsMoveAsDevicesWorkAndPassPromtool) {
  ASSERT_NO_FATAL_FAILURE(StartFleet(false));
  const auto refused = Http("GET", "/metrics", "");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 401);
  EXPECT_EQ(Http("GET", "/metrics", "wrong")->status, 401);

  auto m = Scrape();
  EXPECT_EQ(m["mqota_build_info{version=\"0.1.0\"}"], 1);
  EXPECT_EQ(m["mqota_devices_online"], kDevices);
  EXPECT_EQ(m["mqota_device_versions{board=\"MQOTA_VIRTUAL_BOARD\",version=\"1.0.0\"}"], kDevices);
  EXPECT_GE(m["mqota_requests_total{message=\"update_availability\"}"], kDevices);
  EXPECT_EQ(m["mqota_chunks_served_total"], 0);

  const int64_t good = CreateCampaign("1.1.0", "1,100%");
  ASSERT_TRUE(WaitFor([&] { return Status(good) == "completed"; }, 60s)) << ServerLog();
  m = Scrape();
  EXPECT_EQ(m["mqota_device_versions{board=\"MQOTA_VIRTUAL_BOARD\",version=\"1.1.0\"}"], kDevices);
  EXPECT_EQ(m["mqota_devices{state=\"confirmed\"}"], kDevices);
  EXPECT_EQ(m["mqota_campaigns{status=\"completed\"}"], 1);
  EXPECT_GE(m["mqota_chunks_served_total"], kDevices * 12);  // 48 KiB in 4 KiB chunks each
  EXPECT_GE(m["mqota_served_bytes_total"], kDevices * 48.0 * 1024);
  EXPECT_GE(m["mqota_requests_total{message=\"result\"}"], kDevices);
  EXPECT_GE(m["mqota_registry_write_duration_seconds_count"], 1);
  EXPECT_EQ(m["mqota_registry_write_duration_seconds_bucket{le=\"+Inf\"}"],
            m["mqota_registry_write_duration_seconds_count"]);
  EXPECT_GE(m["mqota_registry_events_written_total"], kDevices * 5);

  const int64_t bad = CreateCampaign("1.2.0", "1,100%");
  ASSERT_TRUE(WaitFor([&] { return Status(bad) == "halted"; }, 30s)) << ServerLog();
  ASSERT_TRUE(WaitFor(
      [&] {
        return Scrape()
                   ["mqota_device_outcomes_total{outcome=\"reverted\",reason=\"not confirmed "
                    "after the update: the bootloader reverted it\"}"] == 1;
      },
      5s))
      << last_scrape_;
  m = Scrape();
  EXPECT_EQ(m["mqota_campaigns{status=\"halted\"}"], 1);
  EXPECT_EQ(m["mqota_devices{state=\"reverted\"}"], 1);

  // The exposition as Prometheus' own checker reads it.
  host::WriteFileAtomically((dir_ / "metrics.txt").string(), last_scrape_, 0644);
  const mt::ProcessResult check = mt::RunProcess(
      {"/bin/sh", "-c", "promtool check metrics < " + (dir_ / "metrics.txt").string()}, 30s);
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err << last_scrape_;
}

TEST_F(FleetView, DashboardInHeadlessChromium) {
  ASSERT_NO_FATAL_FAILURE(StartFleet(true));
  const std::filesystem::path shots = std::filesystem::path(MQOTA_BUILD_DIR) / "dashboard";
  std::filesystem::create_directories(shots);
  const mt::ProcessResult r = mt::RunProcess(
      {"/usr/bin/python3", MQOTA_DASHBOARD_SCRIPT, "--url",
       "http://127.0.0.1:" + std::to_string(api_port_), "--token", operator_token_,
       "--viewer-token", viewer_token_, "--devices", std::to_string(kDevices), "--board", kBoard,
       "--shots", shots.string(), "--key-hash", host::HexString(key_.PublicKeyHash())},
      150s);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err << ServerLog();
  std::cout << r.out;
}

}  // namespace
}  // namespace mqota
