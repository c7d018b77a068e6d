// Group commit over a real SQLite registry: a durable Record returns with its
// event on disk, many callers share one commit, a caller with nothing to wait
// for does not wait for a write under way, and a failing registry keeps
// events (bounded) until a retry writes them in order.
#include "mqota/server/event_writer.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "flaky_registry.h"
#include "mqota/fleet/campaign.h"
#include "mqota/fleet/sqlite_registry.h"
#include "mqota/testing/files.h"

namespace mqota::server {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

class EventWriterTest : public ::testing::Test {
 protected:
  EventWriterTest()
      : sqlite_(fleet::OpenSqliteRegistry(dir_ / "fleet.db")),
        registry_(*sqlite_),
        log_(LogLevel::kDebug, [this](std::string_view line) {
          std::lock_guard lock(lines_mutex_);
          lines_.emplace_back(line);
        }) {
    for (int i = 0; i < kDevices; ++i) {
      fleet::DeviceSighting seen;
      seen.device = Id(i);
      seen.board = "BOARD_A";
      seen.version = "1.0.0";
      seen.time = 1000;
      sqlite_->SeeDevice(seen);
    }
  }

  static constexpr int kDevices = 8;
  static std::string Id(int i) { return "dev-" + std::to_string(i); }
  static fleet::DeviceEvent Progress(const std::string& device, uint8_t percent) {
    fleet::DeviceEvent e;
    e.device = device;
    e.time = 2000 + percent;
    e.kind = fleet::EventKind::kDownloading;
    e.version = "1.1.0";
    e.percent = percent;
    return e;
  }
  EventWriter Writer(size_t max_waiting = 1000) {
    return EventWriter(registry_, log_, max_waiting, [](int64_t, fleet::TimeMs) {});
  }
  bool Logged(const std::string& text) {
    std::lock_guard lock(lines_mutex_);
    for (const auto& l : lines_) {
      if (l.find(text) != std::string::npos) return true;
    }
    return false;
  }

  mqota::testing::TempDir dir_;
  std::unique_ptr<fleet::SqliteRegistry> sqlite_;
  testing::FlakyRegistry registry_;
  std::mutex lines_mutex_;
  std::vector<std::string> lines_;
  Logger log_;
};

TEST_F(EventWriterTest, DurableEventsAreOnDiskWhenRecordReturnsAndShareCommits) {
  registry_.record_all_delay = 5ms;  // a slow disk: callers pile up behind a write
  EventWriter writer = Writer();
  constexpr int kPerDevice = 25;
  std::atomic<int> missing{0};
  std::vector<std::thread> threads;
  threads.reserve(kDevices);
  for (int d = 0; d < kDevices; ++d) {
    threads.emplace_back([&, d] {
      for (int i = 1; i <= kPerDevice; ++i) {
        writer.Record(Progress(Id(d), static_cast<uint8_t>(i)), 0, EventWriter::Then::kWait);
        // Read back through the registry, not the writer: on disk now.
        const auto newest = sqlite_->History(Id(d), 1);
        if (newest.empty() || newest[0].percent != i) ++missing;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(missing, 0);
  EXPECT_EQ(writer.waiting(), 0u);
  for (int d = 0; d < kDevices; ++d) {
    EXPECT_EQ(sqlite_->History(Id(d), 100).size(), size_t{kPerDevice}) << Id(d);
  }
  // 200 events; one caller at a time could only commit one each.
  const int commits = registry_.record_all_calls;
  std::printf("200 durable events from 8 threads: %d commits\n", commits);
  EXPECT_LT(commits, kDevices * kPerDevice / 2);
}

TEST_F(EventWriterTest, AnEventWithNothingToWaitForDoesNotWaitForAWriteUnderWay) {
  registry_.record_all_delay = 400ms;
  EventWriter writer = Writer();
  std::thread slow([&] { writer.Record(Progress(Id(0), 1), 0, EventWriter::Then::kWait); });
  // Until the first write is under way.
  for (int i = 0; i < 200 && registry_.record_all_calls == 0; ++i) std::this_thread::sleep_for(1ms);
  ASSERT_EQ(registry_.record_all_calls, 1);
  const auto start = Clock::now();
  writer.Record(Progress(Id(1), 2), 0, EventWriter::Then::kWrite);
  EXPECT_LT(Clock::now() - start, 200ms);
  EXPECT_TRUE(sqlite_->History(Id(1), 1).empty());  // not yet
  slow.join();
  // The writer took it with its next write, before it stopped.
  ASSERT_EQ(sqlite_->History(Id(1), 1).size(), 1u);
  EXPECT_EQ(registry_.record_all_calls, 2);
}

TEST_F(EventWriterTest, AFailingRegistryKeepsTheNewestEventsUntilARetryWritesThemInOrder) {
  EventWriter writer = Writer(/*max_waiting=*/3);
  registry_.failing = true;
  for (uint8_t i = 1; i <= 5; ++i) writer.Record(Progress(Id(0), i), 0, EventWriter::Then::kWait);
  EXPECT_EQ(writer.waiting(), 3u);
  EXPECT_TRUE(
      Logged("registry: recording dev-0's \"downloading\" (kept, retried): "
             "database or disk is full"));
  EXPECT_TRUE(Logged("registry: 3 events waiting; dropped the oldest"));
  writer.Retry(0);  // still failing: kept
  EXPECT_EQ(writer.waiting(), 3u);
  registry_.failing = false;
  writer.Retry(0);
  EXPECT_EQ(writer.waiting(), 0u);
  const auto history = sqlite_->History(Id(0), 10);
  ASSERT_EQ(history.size(), 3u);
  EXPECT_EQ(history[0].percent, 5);  // newest first: 3, 4, 5 kept, in order
  EXPECT_EQ(history[2].percent, 3);
  EXPECT_TRUE(Logged("registry: working again; 2 events were dropped while it failed"));
}

// The campaign evaluation after a write reads the registry too, and can
// fail: that is logged, and the writer goes on writing (it must not be left
// "under way", or every later event would only queue).
TEST_F(EventWriterTest, AFailingCampaignEvaluationDoesNotStopTheWriter) {
  fleet::Image image;
  image.board = "BOARD_A";
  image.version = "1.1.0";
  image.sha256 = std::string(64, 'c');
  image.size = 1;
  image.added = 1000;
  fleet::NewCampaign c;
  c.name = "c";
  c.image = sqlite_->AddImage(image);
  std::string error;
  c.rules.waves = fleet::ParseWaves("100%", &error).value();
  c.time = 1000;
  sqlite_->CreateCampaign(c);
  int evaluations = 0;
  EventWriter writer(registry_, log_, 1000, [&](int64_t, fleet::TimeMs) {
    ++evaluations;
    throw fleet::RegistryError("disk I/O error");
  });
  auto offered = Progress(Id(0), 0);
  offered.kind = fleet::EventKind::kOffered;  // moves the device's stage: an evaluation
  writer.Record(offered, 0, EventWriter::Then::kWait);
  EXPECT_EQ(evaluations, 1);
  EXPECT_TRUE(Logged("not evaluated after a write (the next tick does): disk I/O error"));
  writer.Record(Progress(Id(0), 5), 0, EventWriter::Then::kWait);
  EXPECT_EQ(writer.waiting(), 0u);
  EXPECT_EQ(sqlite_->History(Id(0), 10).size(), 2u);
}

TEST_F(EventWriterTest, ARefusedEventIsLoggedAndCostsOnlyItself) {
  EventWriter writer = Writer();
  writer.Record(Progress("nobody", 1), 0, EventWriter::Then::kWait);
  writer.Record(Progress(Id(0), 2), 0, EventWriter::Then::kWait);
  EXPECT_TRUE(Logged("registry: nobody's \"downloading\" not recorded: no device nobody"));
  EXPECT_EQ(sqlite_->History(Id(0), 10).size(), 1u);
  EXPECT_EQ(writer.waiting(), 0u);
}

}  // namespace
}  // namespace mqota::server
