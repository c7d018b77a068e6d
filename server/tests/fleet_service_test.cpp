// The server's side of the fleet over a real SQLite registry: what a device
// is offered as its campaign moves, the events its reports become, the
// campaign halting on a canary's revert, nudges at a bounded rate, and no
// event lost while the registry fails.
#include "mqota/server/fleet_service.h"

#include <gtest/gtest.h>

#include <set>

#include "flaky_registry.h"
#include "mqota/fleet/sqlite_registry.h"
#include "mqota/testing/files.h"
#include "test_images.h"

namespace mqota::server {
namespace {

namespace mt = mqota::testing;

constexpr fleet::TimeMs kNow = 1'765'000'000'000;

class FleetServiceTest : public ::testing::Test {
 protected:
  FleetServiceTest()
      : sqlite_(fleet::OpenSqliteRegistry(dir_ / "fleet.db")),
        registry_(*sqlite_),
        log_(LogLevel::kDebug, [this](std::string_view line) { lines_.emplace_back(line); }),
        fleet_(registry_, log_, Options()) {
    catalog_.Add("BOARD_A", "a-1.1.0.bin", testing::SignedImage({1, 1, 0, 0}, 5000),
                 testing::TrustingTestKey());
    fleet_.SyncCatalog(catalog_, kNow);
    for (int i = 0; i < 10; ++i) Ask(Id(i), "1.0.0");
  }
  static FleetOptions Options() {
    FleetOptions o;
    o.nudges_per_second = 3;
    return o;
  }
  static std::string Id(int i) { return "dev-" + std::to_string(i); }

  // The device asks on its own topic; what it is offered, as the handler
  // would record it.
  Choice Ask(const std::string& device, const std::string& version, bool verified = true) {
    image::ImageVersion v{};
    v.major = 1;
    v.minor = static_cast<uint8_t>(version[2] - '0');
    const Choice choice = fleet_.Choose({device, "BOARD_A", v, verified}, catalog_, now_);
    Response r;
    r.device = device;
    r.verified = verified;
    r.sighting = DeviceSighting{device, "BOARD_A", v, verified, ""};
    r.remember_offer = choice.entry;
    r.offer_sent = true;
    r.campaign = choice.campaign;
    fleet_.Record(r, now_);
    return choice;
  }
  void Report(const std::string& device, const std::string& outcome, bool verified = true) {
    Response r;
    r.device = device;
    r.verified = verified;
    DeviceReport report;
    report.device = device;
    report.board = "BOARD_A";
    report.version = {1, 1, 0, 0};
    report.outcome = outcome;
    report.verified = verified;
    r.report = report;
    fleet_.Record(r, now_);
  }
  int64_t CreateCampaign(const std::string& waves, uint32_t failure_percent = 0) {
    fleet::NewCampaign c;
    c.name = "test";
    c.image = registry_.ListImages().at(0).id;
    std::string error;
    c.rules.waves = *fleet::ParseWaves(waves, &error);
    c.rules.success_percent = 100;
    c.rules.failure_percent = failure_percent;
    c.time = now_;
    return registry_.CreateCampaign(c);
  }
  std::vector<std::string> InWave(int64_t campaign, uint32_t wave) {
    std::vector<std::string> ids;
    for (const auto& d : registry_.CampaignDevices(campaign)) {
      if (d.wave == wave) ids.push_back(d.device);
    }
    return ids;
  }
  bool Logged(const std::string& text) const {
    for (const auto& l : lines_) {
      if (l.find(text) != std::string::npos) return true;
    }
    return false;
  }

  mt::TempDir dir_;
  std::unique_ptr<fleet::SqliteRegistry> sqlite_;
  testing::FlakyRegistry registry_;
  std::vector<std::string> lines_;
  Logger log_;
  Catalog catalog_;
  FleetService fleet_;
  fleet::TimeMs now_ = kNow;
};

TEST_F(FleetServiceTest, WithoutACampaignNothingIsOffered) {
  const Choice c = Ask("dev-0", "1.0.0");
  EXPECT_EQ(c.entry, nullptr);
  EXPECT_EQ(c.note, "no running campaign targets it");
  const Choice reference = fleet_.Choose({"", "BOARD_A", {1, 0, 0, 0}, false}, catalog_, now_);
  EXPECT_EQ(reference.entry, nullptr);
  EXPECT_NE(reference.note.find("--offer-newest"), std::string::npos);
}

TEST_F(FleetServiceTest, ACampaignOffersItsOpenWaveOnlyAndRecordsTheOffer) {
  const int64_t id = CreateCampaign("10%");  // 1 canary of 10
  const auto canary = InWave(id, 0);
  ASSERT_EQ(canary.size(), 1u);
  const std::string later = InWave(id, 1).at(0);
  const Choice offered = Ask(canary[0], "1.0.0");
  ASSERT_NE(offered.entry, nullptr);
  EXPECT_EQ(offered.entry->ProtocolVersion(), "1.1.0");
  EXPECT_EQ(offered.campaign, id);
  EXPECT_EQ(offered.note, "campaign " + std::to_string(id) + ", wave 1");
  const Choice waiting = Ask(later, "1.0.0");
  EXPECT_EQ(waiting.entry, nullptr);
  EXPECT_EQ(waiting.note, "campaign " + std::to_string(id) + ": its wave 2 is not open yet");
  const auto history = registry_.History(canary[0], 10);
  ASSERT_FALSE(history.empty());
  EXPECT_EQ(history[0].kind, fleet::EventKind::kOffered);
  EXPECT_EQ(history[0].campaign, id);
}

TEST_F(FleetServiceTest, ACanaryThatConfirmsOpensTheNextWave) {
  const int64_t id = CreateCampaign("10%");
  const std::string canary = InWave(id, 0).at(0);
  Ask(canary, "1.0.0");
  Report(canary, "pending");
  EXPECT_EQ(registry_.FindCampaign(id)->open_waves, 1u);
  Report(canary, "confirmed");
  EXPECT_EQ(registry_.FindCampaign(id)->open_waves, 2u);
  EXPECT_TRUE(Logged("campaign " + std::to_string(id) + ": wave 1: 1 of 1 confirmed"));
  EXPECT_NE(Ask(InWave(id, 1).at(0), "1.0.0").entry, nullptr);
}

TEST_F(FleetServiceTest, ACanaryThatRevertsHaltsTheCampaignBeforeTheNextWave) {
  const int64_t id = CreateCampaign("10%");
  const std::string canary = InWave(id, 0).at(0);
  Ask(canary, "1.0.0");
  Report(canary, "reverted");
  const auto c = registry_.FindCampaign(id);
  EXPECT_EQ(c->status, fleet::CampaignStatus::kHalted);
  EXPECT_EQ(c->status_reason,
            "1 of 1 devices in the open waves failed (100%), more than the 0% allowed");
  EXPECT_TRUE(Logged("HALTED: 1 of 1 devices"));
  for (const auto& later : InWave(id, 1)) EXPECT_EQ(Ask(later, "1.0.0").entry, nullptr);
  EXPECT_TRUE(fleet_.Barred(canary, {1, 1, 0, 0}));
}

TEST_F(FleetServiceTest, AnUnverifiedReportAboutAVerifiedDeviceIsNotItsWord) {
  const int64_t id = CreateCampaign("10%");
  const std::string canary = InWave(id, 0).at(0);
  Ask(canary, "1.0.0");
  // Someone on the shared topic claims the canary reverted: not recorded,
  // and not to be acknowledged.
  Response claim;
  claim.device = canary;
  DeviceReport report;
  report.device = canary;
  report.version = {1, 1, 0, 0};
  report.outcome = "reverted";
  claim.report = report;
  EXPECT_FALSE(fleet_.RecordReport(claim, now_));
  EXPECT_EQ(registry_.FindCampaign(id)->status, fleet::CampaignStatus::kRunning);
  const Choice c = fleet_.Choose({canary, "BOARD_A", {1, 0, 0, 0}, false}, catalog_, now_);
  EXPECT_EQ(c.entry, nullptr);
  EXPECT_NE(c.note.find("unverified"), std::string::npos);
}

TEST_F(FleetServiceTest, DevicesOfOpenWavesAreNudgedAtTheBoundedRateOnce) {
  const int64_t id = CreateCampaign("100%");
  const auto first = fleet_.Tick(now_);
  ASSERT_EQ(first.size(), 3u);  // nudges_per_second
  for (const auto& p : first) {
    EXPECT_EQ(p.topic.rfind("mqota/BOARD_A/device/dev-", 0), 0u) << p.topic;
    EXPECT_EQ(std::string(p.payload.begin(), p.payload.end()), R"({"Message":"Check Now"})");
  }
  now_ += 1000;
  const auto second = fleet_.Tick(now_);
  ASSERT_EQ(second.size(), 3u);
  for (const auto& a : first) {
    for (const auto& b : second) EXPECT_NE(a.topic, b.topic);  // not twice
  }
  EXPECT_EQ(InWave(id, 0).size(), 10u);
  // A next campaign nudges its devices again at once, even those nudged
  // for the last one a moment ago.
  registry_.Control(id, fleet::Registry::Command::kCancel, "test", now_);
  fleet::Image next;
  next.board = "BOARD_A";
  next.version = "1.2.0";
  next.sha256 = std::string(64, 'b');
  next.size = 1;
  next.added = now_;
  fleet::NewCampaign c;
  c.name = "next";
  c.image = registry_.AddImage(next);
  c.time = now_;
  registry_.CreateCampaign(c);
  std::set<std::string> again;
  for (int tick = 1; tick <= 4; ++tick) {
    for (const auto& p : fleet_.Tick(now_ + 1000 * tick)) again.insert(p.topic);
  }
  EXPECT_EQ(again.size(), 10u);
  for (const auto& p : first) EXPECT_TRUE(again.count(p.topic)) << p.topic;
}

TEST_F(FleetServiceTest, NoEventIsLostWhileTheRegistryFails) {
  const int64_t id = CreateCampaign("100%");
  const std::string d = InWave(id, 0).at(0);
  Ask(d, "1.0.0");
  registry_.failing = true;
  Report(d, "pending");
  Report(d, "confirmed");
  EXPECT_EQ(fleet_.pending_events(), 2u);
  EXPECT_TRUE(Logged("registry: recording " + d +
                     "'s \"pending\" (kept, retried): database or "
                     "disk is full"));
  fleet_.Tick(now_);  // still failing: kept
  EXPECT_EQ(fleet_.pending_events(), 2u);
  registry_.failing = false;
  fleet_.Tick(now_ + 1000);
  EXPECT_EQ(fleet_.pending_events(), 0u);
  const auto history = registry_.History(d, 10);
  ASSERT_GE(history.size(), 3u);
  EXPECT_EQ(history[0].kind, fleet::EventKind::kConfirmed);  // in order
  EXPECT_EQ(history[1].kind, fleet::EventKind::kPending);
  EXPECT_TRUE(Logged("registry: working again; no event was lost"));
}

TEST_F(FleetServiceTest, AFloodingDeviceIsLoggedOnceAndNotRecordedBeyondItsBudget) {
  const int64_t id = CreateCampaign("100%");
  const std::string d = InWave(id, 0).at(0);
  Ask(d, "1.0.0");
  const size_t before = registry_.History(d, 1000).size();
  // 300 progress reports in the same millisecond: the burst (100, less what
  // the asks above spent) is recorded, the rest is not.
  for (int i = 0; i < 300; ++i) {
    Response r;
    r.device = d;
    r.verified = true;
    DeviceReport report;
    report.device = d;
    report.version = {1, 1, 0, 0};
    report.outcome = "downloading";
    report.percent = static_cast<uint8_t>(i % 100);
    report.verified = true;
    r.report = report;
    fleet_.Record(r, now_);
  }
  const size_t recorded = registry_.History(d, 1000).size() - before;
  EXPECT_GE(recorded, 90u);
  EXPECT_LE(recorded, 100u);
  size_t warnings = 0;
  for (const auto& l : lines_) warnings += l.find("messages a second") != std::string::npos;
  EXPECT_EQ(warnings, 1u);
  // A second later it has 20 more to spend: a real device is never refused.
  now_ += 1000;
  Report(d, "pending");
  EXPECT_EQ(registry_.History(d, 1)[0].kind, fleet::EventKind::kPending);
}

TEST_F(FleetServiceTest, AReportAboutAVersionNeverOfferedIsLogged) {
  Report("dev-3", "confirmed");  // no campaign, never offered 1.1.0
  EXPECT_TRUE(Logged("dev-3: reports \"confirmed\" for 1.1.0, which it was never offered here"));
  const int64_t id = CreateCampaign("100%");
  const std::string d = InWave(id, 0).at(0);
  Ask(d, "1.0.0");
  lines_.clear();
  Report(d, "pending");
  EXPECT_FALSE(Logged("never offered"));
}

// Several instances (docs/scale-out.md): a report recorded by a server
// killed before its "Result Received" went out comes again to another; it
// is acknowledged, and the registry holds it once. After a new offer the
// same outcome is news again.
TEST_F(FleetServiceTest, ARepeatedReportIsAcknowledgedAndRecordedOnce) {
  const int64_t id = CreateCampaign("100%");
  const std::string d = InWave(id, 0).at(0);
  Ask(d, "1.0.0");
  const auto count = [&](fleet::EventKind kind) {
    size_t n = 0;
    for (const auto& e : registry_.History(d, 100)) n += e.kind == kind;
    return n;
  };
  Report(d, "interrupted");
  Report(d, "interrupted");
  EXPECT_EQ(count(fleet::EventKind::kInterrupted), 1u);
  EXPECT_TRUE(Logged(d + ": repeats its \"interrupted\" for 1.1.0, already recorded"));
  now_ += 1000;
  Ask(d, "1.0.0");  // offered again: it tries once more
  now_ += 1000;
  Report(d, "interrupted");
  EXPECT_EQ(count(fleet::EventKind::kInterrupted), 2u);
  now_ += 1000;
  Report(d, "pending");
  now_ += 1000;
  Report(d, "confirmed");
  now_ += 1000;
  Report(d, "confirmed");
  EXPECT_EQ(count(fleet::EventKind::kConfirmed), 1u);
  EXPECT_EQ(count(fleet::EventKind::kOffered), 2u);
}

// A device that already runs the campaign's image (its boot report was lost
// with a server that died) is not offered it again when it asks.
TEST_F(FleetServiceTest, ADeviceRunningTheImageIsNotOfferedItAgain) {
  const int64_t id = CreateCampaign("100%");
  const std::string d = InWave(id, 0).at(0);
  ASSERT_NE(Ask(d, "1.0.0").entry, nullptr);
  Report(d, "pending");
  const Choice again = Ask(d, "1.1.0");
  EXPECT_EQ(again.entry, nullptr);
  EXPECT_EQ(again.note, "campaign " + std::to_string(id) + ": it already runs 1.1.0");
}

// A data request served from the registry's campaign (this server did not
// make the offer) records no second "offered".
TEST_F(FleetServiceTest, AnImageFoundAgainForADataRequestIsNoNewOffer) {
  const int64_t id = CreateCampaign("100%");
  const std::string d = InWave(id, 0).at(0);
  Ask(d, "1.0.0");
  Response again;
  again.device = d;
  again.verified = true;
  again.remember_offer = catalog_.entries().at(0);
  again.campaign = id;
  fleet_.Record(again, now_ + 10);  // offer_sent false: no job document went out
  size_t offers = 0;
  for (const auto& e : registry_.History(d, 100)) offers += e.kind == fleet::EventKind::kOffered;
  EXPECT_EQ(offers, 1u);
}

// A boot report can be the first thing a registry hears of a device (a new
// registry file, a device flashed elsewhere): it is filed, not lost.
TEST_F(FleetServiceTest, AReportFromADeviceNeverSeenIsRecordedWithItsBoard) {
  Report("dev-new", "confirmed");
  const auto d = registry_.FindDevice("dev-new");
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->board, "BOARD_A");
  EXPECT_EQ(d->state, "confirmed");
  ASSERT_EQ(registry_.History("dev-new", 5).size(), 1u);
}

}  // namespace
}  // namespace mqota::server
