// Staged rollouts as an operator runs them: a real mosquitto, the real
// mqota-server binary with its SQLite registry, a simulated fleet (each
// device the real agent and bootloader core on its own flash), and every
// campaign made and read with `mqota fleet`. A good release rolls through
// every wave; a bad one (it hangs, the watchdog resets, the bootloader
// reverts) halts by itself on the canary, before the next wave, and no
// device beyond the canary gets it; a fixed one then completes. A kill -9 of
// the server mid-campaign loses no event the devices reported.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "fleet_stage.h"

namespace mqota {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;
namespace mt = mqota::testing;
using Clock = std::chrono::steady_clock;

constexpr const char* kBoard = mt::kFleetBoard;
constexpr size_t kDevices = 20;

class Rollout : public mt::FleetStage {
 protected:
  Rollout() : FleetStage({{1, 1, 0, 0}, {1, 2, 0, 0}, {1, 2, 1, 0}}, " api: http") {}

  void StartFleet(const std::vector<image::ImageVersion>& hang = {}) {
    sim::FleetOptions o = SimOptions(kDevices);
    o.faults.hang_versions = hang;
    events_.set_callback([this](const sim::SimEvent& e) {
      std::lock_guard lock(mutex_);
      device_events_.push_back(e);
    });
    fleet_.emplace(o, events_);
    fleet_->Start();
    ASSERT_TRUE(WaitFor([&] { return Devices().size() == kDevices; }, 20s))
        << Devices().size() << " devices known\n"
        << ServerLog();
  }

  // `mqota fleet ARGS --json`, as an operator runs it.
  json Fleet(std::vector<std::string> args) {
    std::vector<std::string> argv = {mt::BinPath("mqota"), "fleet"};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.push_back("--json");
    argv.push_back("--api=http://127.0.0.1:" + std::to_string(api_port_));
    argv.push_back("--token-file=" + (dir_ / "fleet.db.token").string());
    const mt::ProcessResult r = mt::RunProcess(argv, 30s);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return json::parse(r.out, nullptr, false);
  }
  json Devices() {
    const json d = Fleet({"devices"});
    return d.is_object() ? d["devices"] : json::array();
  }
  json Campaign(int64_t id) { return Fleet({"campaign", "show", std::to_string(id)}); }
  int64_t CreateCampaign(const std::string& version, const std::string& waves,
                         std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"campaign",  "create",
                                     "--name",    "release " + version,
                                     "--image",   std::string(kBoard) + ":" + version,
                                     "--waves",   waves,
                                     "--failure", "0"};
    args.insert(args.end(), extra.begin(), extra.end());
    const json c = Fleet(args);
    return c.value("id", int64_t{0});
  }
  bool StatusIs(int64_t id, const std::string& status) {
    return Campaign(id).value("status", "") == status;
  }
  // When the first device started downloading `version` (wall ms), if any.
  std::optional<int64_t> FirstOffer(const std::string& version) {
    std::lock_guard lock(mutex_);
    for (const auto& e : device_events_) {
      if (e.name == "offered" && e.version == version) return e.time_ms;
    }
    return std::nullopt;
  }
  // Devices whose registry history holds an "offered" of `version`.
  std::set<std::string> OfferedIn(const std::string& version) {
    std::set<std::string> offered;
    for (const json& d : Devices()) {
      const json detail = Fleet({"device", d["id"], "--history", "500"});
      for (const json& e : detail["history"]) {
        if (e["event"] == "offered" && e["version"] == version) offered.insert(d["id"]);
      }
    }
    return offered;
  }

  sim::EventLog events_;
  std::mutex mutex_;
  std::vector<sim::SimEvent> device_events_;
  std::optional<sim::FleetSim> fleet_;  // last: stopped before what it uses
};

TEST_F(Rollout, AGoodReleaseRollsThroughABadOneHaltsOnTheCanaryAFixedOneCompletes) {
  ASSERT_NO_FATAL_FAILURE(StartFleet({{1, 2, 0, 0}}));

  // 1.1.0 in waves of 1, 10 and 20: every wave opens on its gate.
  const auto created = std::chrono::system_clock::now();
  const int64_t good = CreateCampaign("1.1.0", "5%,50%");
  ASSERT_GT(good, 0);
  // Push: the canary hears of it at once (it would poll only in a minute).
  ASSERT_TRUE(WaitFor([&] { return FirstOffer("1.1.0").has_value(); }, 5s));
  const int64_t created_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(created.time_since_epoch()).count();
  EXPECT_LT(*FirstOffer("1.1.0") - created_ms, 2000) << "ms from the campaign to its first offer";
  ASSERT_TRUE(WaitFor([&] { return StatusIs(good, "completed"); }, 60s))
      << Campaign(good).dump(2) << ServerLog();
  const json done = Campaign(good);
  EXPECT_EQ(done["totals"]["confirmed"], kDevices);
  // Progress reached the registry: each device's download in steps.
  const json canary = Fleet({"device", "sim-0000", "--history", "500"});
  size_t steps = 0;
  for (const json& e : canary["history"]) {
    if (e["event"] == "downloading" && e["version"] == "1.1.0") {
      ++steps;
      EXPECT_LE(e["percent"].get<int>(), 100);
    }
  }
  EXPECT_GE(steps, 5u) << canary.dump(2);
  EXPECT_EQ(done["waves"].size(), 3u);
  for (const auto& s : fleet_->statuses()) {
    EXPECT_EQ(sim::VersionText(s.running), "1.1.0") << s.id;
    EXPECT_TRUE(s.confirmed) << s.id;
  }

  // 1.2.0 hangs: the canary reverts, the campaign halts before wave 2.
  const int64_t bad = CreateCampaign("1.2.0", "5%,50%");
  ASSERT_TRUE(WaitFor([&] { return StatusIs(bad, "halted"); }, 45s))
      << Campaign(bad).dump(2) << ServerLog();
  const json halted = Campaign(bad);
  EXPECT_EQ(halted["status_reason"],
            "1 of 1 devices in the open waves failed (100%), more than the 0% allowed");
  EXPECT_EQ(halted["open_waves"], 1);
  EXPECT_EQ(halted["totals"]["failed"], 1);
  std::this_thread::sleep_for(2s);           // anything still on its way arrives
  EXPECT_EQ(OfferedIn("1.2.0").size(), 1u);  // the canary, and nobody else
  size_t reverted = 0;
  for (const auto& s : fleet_->statuses()) {
    EXPECT_EQ(sim::VersionText(s.running), "1.1.0") << s.id;  // all still on the good one
    for (const auto& v : s.failed_versions) reverted += sim::VersionText(v) == "1.2.0";
  }
  EXPECT_EQ(reverted, 1u);
  bool halted_logged = false;
  for (const json& e : halted["log"]) halted_logged |= e["action"] == "halted";
  EXPECT_TRUE(halted_logged) << halted["log"].dump(2);

  // The fix, 1.2.1: every device, the canary that reverted 1.2.0 included.
  const int64_t fixed = CreateCampaign("1.2.1", "5%,50%");
  ASSERT_TRUE(WaitFor([&] { return StatusIs(fixed, "completed"); }, 60s))
      << Campaign(fixed).dump(2) << ServerLog();
  for (const auto& s : fleet_->statuses()) EXPECT_EQ(sim::VersionText(s.running), "1.2.1") << s.id;

  // Each device told which build it runs: 1.2.1's digest, as the catalog has it.
  std::string digest;
  const json images = Fleet({"images"});  // named: a loop over a temporary's member dangles
  for (const json& i : images["images"]) {
    if (i["version"] == "1.2.1") digest = i["sha256"];
  }
  ASSERT_EQ(digest.size(), 64u);
  const auto all_run_it = [&] {
    const json devices = Devices();
    return std::all_of(devices.begin(), devices.end(),
                       [&](const json& d) { return d["image_hash"] == digest; });
  };
  EXPECT_TRUE(WaitFor(all_run_it, 10s)) << Devices().dump(2);
}

// docs/spec/mqota-protocol.md#presence: each device's connection says it is
// online; when the devices go (their sockets closed without a goodbye, as a
// power cut does) the broker's wills say offline, and the registry follows.
TEST_F(Rollout, DevicesAreOnlineWhileConnectedAndOfflineOnceGone) {
  ASSERT_NO_FATAL_FAILURE(StartFleet());
  const auto count_online = [&](bool online) {
    const json devices = Devices();
    return static_cast<size_t>(std::count_if(devices.begin(), devices.end(),
                                             [&](const json& d) { return d["online"] == online; }));
  };
  EXPECT_TRUE(WaitFor([&] { return count_online(true) == kDevices; }, 10s)) << Devices().dump(2);
  fleet_->Stop();
  EXPECT_TRUE(WaitFor([&] { return count_online(false) == kDevices; }, 10s))
      << Devices().dump(2) << ServerLog();
}

TEST_F(Rollout, AKilledServerLosesNoReportedEventAndTheCampaignContinues) {
  ASSERT_NO_FATAL_FAILURE(StartFleet());
  const int64_t id = CreateCampaign("1.1.0", "100%", {"--max-in-flight", "4"});
  ASSERT_GT(id, 0);
  ASSERT_TRUE(WaitFor([&] { return Campaign(id)["totals"].value("confirmed", 0) >= 5; }, 40s))
      << ServerLog();
  // Mid-campaign: devices are still to go when the server dies.
  EXPECT_LT(Campaign(id)["totals"].value("confirmed", 0), static_cast<int>(kDevices));
  server_->PowerCut();              // kill -9
  std::this_thread::sleep_for(1s);  // devices meanwhile report into the void
  ASSERT_NO_FATAL_FAILURE(StartServer());
  ASSERT_TRUE(WaitFor([&] { return StatusIs(id, "completed"); }, 60s))
      << Campaign(id).dump(2) << ServerLog();

  // Every outcome a device reported is in the registry.
  std::map<std::string, std::set<std::string>> reported;  // device -> "confirmed 1.1.0", ...
  {
    std::lock_guard lock(mutex_);
    for (const auto& e : device_events_) {
      if (e.name == "confirmed" || e.name == "reverted") {
        reported[e.device].insert(e.name + " " + e.version);
      }
    }
  }
  EXPECT_EQ(reported.size(), kDevices);
  for (const auto& [device, outcomes] : reported) {
    std::set<std::string> recorded;
    const json detail = Fleet({"device", device, "--history", "500"});  // outlives the loop
    for (const json& e : detail["history"]) {
      recorded.insert(e["event"].get<std::string>() + " " + e["version"].get<std::string>());
    }
    for (const auto& o : outcomes) {
      EXPECT_TRUE(recorded.count(o))
          << device << ": " << o << " not among " << json(recorded).dump();
    }
  }
  EXPECT_EQ(Campaign(id)["totals"]["confirmed"], kDevices);
}

}  // namespace
}  // namespace mqota
