// Several mqota-server instances share the work (docs/scale-out.md): a real
// PostgreSQL and a real mosquitto, three mqota-server processes in one share
// group on them, and a simulated fleet of 100 devices (the real agent and
// bootloader core each) in a campaign of four waves created through one
// instance's API. One instance is killed (SIGKILL) mid-campaign; the
// others carry on: every device completes, the registry holds each device's
// outcome exactly once and every offer, the campaign's wave counts are
// exact and no wave was opened twice.
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "fleet_stage.h"
#include "mqota/testing/postgres.h"

namespace mqota {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;
namespace mt = mqota::testing;
using Clock = std::chrono::steady_clock;

constexpr const char* kBoard = mt::kFleetBoard;
constexpr size_t kDevices = 100;
constexpr int kInstances = 3;
constexpr const char* kDatabase = "scale_out";

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

class ScaleOut : public mt::FleetStage {
 protected:
  ScaleOut() : FleetStage({{1, 1, 0, 0}}, "", /*start_server=*/false) {}

  void SetUp() override {
    if (!mt::PostgresServer::FindBinaries()) {
      GTEST_SKIP() << mt::PostgresServer::MissingBinaries();
    }
    postgres_ = &mt::SharedPostgres();
    postgres_->DropDatabase(kDatabase);  // a rerun in the same process starts afresh
    postgres_->CreateDatabase(kDatabase);
    for (int i = 0; i < kInstances; ++i) {
      api_ports_.push_back(i == 0 ? api_port_ : mt::FreeLoopbackPort());
      ASSERT_NO_FATAL_FAILURE(StartInstance(i));
    }
  }

  std::filesystem::path InstanceLog(int i) const {
    return dir_ / ("server-" + std::to_string(i) + ".log");
  }
  std::string Logs() const {
    std::string all;
    for (int i = 0; i < kInstances; ++i) {
      all += "--- server-" + std::to_string(i) + "\n" + host::Tail(InstanceLog(i), 25);
    }
    return all;
  }

  void StartInstance(int i) {
    const std::string n = std::to_string(i);
    servers_.push_back(std::make_unique<host::ChildProcess>(
        "server-" + n,
        std::vector<std::string>{mt::BinPath("mqota-server"),
                                 "--db",
                                 postgres_->Url(kDatabase),
                                 "--port",
                                 std::to_string(broker_.port()),
                                 "--board",
                                 kBoard,
                                 "--catalog",
                                 (dir_ / "catalog").string(),
                                 "--verify-key",
                                 (dir_ / "key.pem").string(),
                                 "--share-group",
                                 "scale",
                                 "--client-id",
                                 "server-" + n,
                                 "--api",
                                 "127.0.0.1:" + std::to_string(api_ports_[static_cast<size_t>(i)]),
                                 "--api-token-file",
                                 (dir_ / ("token-" + n)).string(),
                                 "--viewer-token-file",
                                 (dir_ / ("viewer-token-" + n)).string(),
                                 "--patch-cache",
                                 (dir_ / ("patches-" + n)).string(),
                                 "--log-level",
                                 "info"},
        InstanceLog(i)));
    ASSERT_TRUE(WaitFor(
        [&] { return host::Tail(InstanceLog(i), 40).find("ready: ") != std::string::npos; }, 20s))
        << Logs();
  }

  std::string Sql(const std::string& sql) const { return postgres_->Sql(kDatabase, sql); }
  size_t Count(const std::string& sql) const {
    const std::string out = Sql(sql);
    return out.empty() ? 0 : std::stoul(out);
  }

  // `mqota fleet ARGS --json` against instance 0's API, as an operator runs it.
  json Fleet(std::vector<std::string> args) {
    std::vector<std::string> argv = {mt::BinPath("mqota"), "fleet"};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.push_back("--json");
    argv.push_back("--api=http://127.0.0.1:" + std::to_string(api_ports_[0]));
    argv.push_back("--token-file=" + (dir_ / "token-0").string());
    const mt::ProcessResult r = mt::RunProcess(argv, 30s);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return json::parse(r.out, nullptr, false);
  }

  mt::PostgresServer* postgres_ = nullptr;
  std::vector<int> api_ports_;
  std::vector<std::unique_ptr<host::ChildProcess>> servers_;
  sim::EventLog events_;
  std::mutex mutex_;
  std::vector<sim::SimEvent> device_events_;
  std::optional<sim::FleetSim> fleet_;  // last: stopped before the servers
};

TEST_F(ScaleOut, ThreeInstancesFinishACampaignWhenOneIsKilledMidWay) {
  const auto started = Clock::now();
  sim::FleetOptions o = SimOptions(kDevices);
  // The devices' own retries, shortened for a test: a request lost with the
  // killed instance is asked again within seconds (an unanswered boot
  // report after job_timeout, then at the next check).
  o.check_interval_ms = 5000;
  o.job_timeout_ms = 4000;
  o.threads = 2;
  events_.set_callback([this](const sim::SimEvent& e) {
    std::lock_guard lock(mutex_);
    device_events_.push_back(e);
  });
  fleet_.emplace(o, events_);
  fleet_->Start();
  ASSERT_TRUE(WaitFor(
      [&] { return Count("SELECT count(*) FROM devices WHERE version = '1.0.0'") == kDevices; },
      30s))
      << Count("SELECT count(*) FROM devices") << " devices known\n"
      << Logs();

  // Waves of 5, 20, 25 and 50 devices.
  const json created =
      Fleet({"campaign", "create", "--name", "scale-out", "--image", std::string(kBoard) + ":1.1.0",
             "--waves", "5%,25%,50%", "--failure", "0"});
  const int64_t id = created.value("id", int64_t{0});
  ASSERT_GT(id, 0) << created.dump();
  const std::string campaign = std::to_string(id);
  const auto confirmed = [&] {
    return Count("SELECT count(*) FROM campaign_devices WHERE campaign = " + campaign +
                 " AND stage = 'confirmed'");
  };

  // Mid-campaign, in its third wave: kill -9 one instance (not the one whose
  // API the test uses; any instance could be).
  ASSERT_TRUE(WaitFor([&] { return confirmed() >= 30; }, 60s))
      << Sql("SELECT stage, count(*) FROM campaign_devices GROUP BY stage") << "\n"
      << Logs();
  const size_t at_kill = confirmed();
  EXPECT_LT(at_kill, kDevices);
  servers_[1]->PowerCut();
  const auto killed = Clock::now();

  ASSERT_TRUE(WaitFor(
      [&] { return Sql("SELECT status FROM campaigns WHERE id = " + campaign) == "completed"; },
      90s))
      << Sql("SELECT status, open_waves FROM campaigns WHERE id = " + campaign) << "\n"
      << Sql("SELECT wave, stage, count(*) FROM campaign_devices WHERE campaign = " + campaign +
             " GROUP BY wave, stage ORDER BY wave")
      << "\n"
      << Logs();
  const double after_kill_s = std::chrono::duration<double>(Clock::now() - killed).count();
  std::cout << "scale-out: " << at_kill << " of " << kDevices
            << " confirmed when server-1 was killed; campaign completed " << after_kill_s
            << " s later, " << std::chrono::duration<double>(Clock::now() - started).count()
            << " s in all\n";

  // Every device completed: it runs 1.1.0, confirmed, and the registry says so.
  for (const auto& s : fleet_->statuses()) {
    EXPECT_EQ(sim::VersionText(s.running), "1.1.0") << s.id;
    EXPECT_TRUE(s.confirmed) << s.id;
  }
  // A device's running version is recorded from its next request, just
  // after the acknowledgement of its boot report (which completed the
  // campaign): moments later.
  EXPECT_TRUE(WaitFor(
      [&] {
        return Count(
                   "SELECT count(*) FROM devices WHERE version = '1.1.0' AND state = "
                   "'confirmed'") == kDevices;
      },
      10s))
      << Sql("SELECT id, version, state FROM devices WHERE state <> 'confirmed' OR version <> "
             "'1.1.0'");

  // The wave counts are exact, every device of every wave confirmed.
  EXPECT_EQ(Sql("SELECT wave, count(*) FROM campaign_devices WHERE campaign = " + campaign +
                " AND stage = 'confirmed' GROUP BY wave ORDER BY wave"),
            "0|5\n1|20\n2|25\n3|50");
  EXPECT_EQ(Count("SELECT count(*) FROM campaign_devices WHERE campaign = " + campaign), kDevices);
  // Each wave was opened once: three openings after the first wave, by
  // whichever instance saw the gate first, and one completion.
  EXPECT_EQ(Sql("SELECT action, count(*) FROM campaign_log WHERE campaign = " + campaign +
                " GROUP BY action ORDER BY action"),
            "completed|1\ncreated|1\nwave opened|3")
      << Sql("SELECT time, action, reason FROM campaign_log WHERE campaign = " + campaign);
  EXPECT_EQ(Sql("SELECT open_waves FROM campaigns WHERE id = " + campaign), "4");
  const json shown = Fleet({"campaign", "show", campaign});
  EXPECT_EQ(shown["totals"]["confirmed"], kDevices) << shown.dump(2);

  // No outcome lost or duplicated: each device's boot report ("confirmed",
  // acknowledged only once on disk, asked again by the device until it is)
  // is recorded exactly once; "pending" (not acknowledged-and-retried by
  // the device: one sent to the dying instance is lost with it) at most once.
  const auto per_device = [&](const std::string& kind) {
    std::map<std::string, size_t> counts;
    for (const auto& line : Lines(Sql("SELECT device, count(*) FROM events WHERE kind = '" + kind +
                                      "' AND version = '1.1.0' GROUP BY device"))) {
      const size_t bar = line.find('|');
      counts[line.substr(0, bar)] = std::stoul(line.substr(bar + 1));
    }
    return counts;
  };
  const auto history = [&](const std::string& device) {
    return device + "'s events:\n" +
           Sql("SELECT time, kind, version, campaign FROM events WHERE device = '" + device +
               "' AND kind <> 'downloading' ORDER BY id");
  };
  const auto confirmations = per_device("confirmed");
  EXPECT_EQ(confirmations.size(), kDevices);
  for (const auto& [device, n] : confirmations) EXPECT_EQ(n, 1u) << history(device);
  const auto pendings = per_device("pending");
  for (const auto& [device, n] : pendings) EXPECT_EQ(n, 1u) << history(device);
  EXPECT_GE(pendings.size(), kDevices - 10) << "more pending reports lost than sent in the kill";
  // Every offer is recorded (before its job document goes out), each in the
  // campaign. A device offered twice asked twice: its first session was
  // lost with the killed instance, and then only its progress repeats.
  const auto offers = per_device("offered");
  EXPECT_EQ(offers.size(), kDevices);
  size_t offered_twice = 0;
  for (const auto& [device, n] : offers) {
    EXPECT_LE(n, 2u) << device;
    offered_twice += n > 1;
  }
  EXPECT_EQ(Count("SELECT count(*) FROM events WHERE kind = 'offered' AND campaign IS DISTINCT "
                  "FROM " +
                  campaign),
            0u);
  size_t repeated_progress = 0;
  for (const auto& line :
       Lines(Sql("SELECT device, percent FROM events WHERE kind = 'downloading' AND version = "
                 "'1.1.0' GROUP BY device, percent HAVING count(*) > 1"))) {
    const std::string device = line.substr(0, line.find('|'));
    const auto offered = offers.find(device);
    EXPECT_TRUE(offered != offers.end() && offered->second > 1)
        << device << " reported a progress step twice: " << line;
    ++repeated_progress;
  }
  // Each device's confirmation in the registry is the one it reported.
  std::set<std::string> reported;
  {
    std::lock_guard lock(mutex_);
    for (const auto& e : device_events_) {
      if (e.name == "confirmed" && e.version == "1.1.0") reported.insert(e.device);
    }
  }
  EXPECT_EQ(reported.size(), kDevices);
  std::cout << "scale-out: " << kDevices - pendings.size()
            << " pending reports lost with the killed instance, " << offered_twice
            << " devices offered twice, " << repeated_progress << " progress steps repeated\n";

  // Batches of events that share devices, from three instances, wait for
  // each other rather than deadlock (docs/spec/fleet-registry.md#transactions).
  for (int i = 0; i < kInstances; ++i) {
    std::ifstream log(InstanceLog(i));
    const std::string text{std::istreambuf_iterator<char>(log), {}};
    EXPECT_EQ(text.find("deadlock detected"), std::string::npos) << "server-" << i;
  }
  // The two survivors served the rest: each handled requests after the kill.
  for (const int i : {0, 2}) {
    EXPECT_TRUE(servers_[static_cast<size_t>(i)]->Running()) << Logs();
  }
}

}  // namespace
}  // namespace mqota
