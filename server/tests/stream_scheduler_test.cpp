// Push streams without a broker: the test plays the broker by returning flow
// markers, and checks order, the window, restarts, waiting, and recovery.
#include "mqota/server/stream_scheduler.h"

#include <gtest/gtest.h>

#include <deque>

#include "mqota/agent/protocol.h"
#include "mqota/server/chunks.h"
#include "test_images.h"

namespace mqota::server {
namespace {

constexpr char kFlow[] = "p/mqota-server/s/flow";

struct Sent {
  std::string topic;
  std::vector<uint8_t> payload;
};

class StreamSchedulerTest : public ::testing::Test {
 protected:
  void Make(StreamLimits limits) {
    scheduler_ = std::make_unique<StreamScheduler>(
        limits, kFlow,
        [this](std::string_view topic, std::span<const uint8_t> payload) {
          if (fail_publishes_ > 0) {
            --fail_publishes_;
            return false;
          }
          sent_.push_back({std::string(topic), {payload.begin(), payload.end()}});
          return true;
        },
        [this](uint64_t id) { ready_.push_back(id); }, log_);
  }

  // Runs queued pumps until none is left (the worker pool, single-threaded).
  void PumpAll() {
    while (!ready_.empty()) {
      const uint64_t id = ready_.front();
      ready_.pop_front();
      scheduler_->Pump(id, scratch_);
    }
  }

  // Returns every marker published so far (the broker's echo), oldest first.
  size_t EchoMarkers() {
    size_t echoed = 0;
    for (; marker_cursor_ < sent_.size(); ++marker_cursor_) {
      if (sent_[marker_cursor_].topic != kFlow) continue;
      EXPECT_TRUE(scheduler_->OnFlowMarker(sent_[marker_cursor_].payload));
      ++echoed;
    }
    return echoed;
  }

  std::vector<agent::ChunkHeader> ChunksTo(const std::string& topic) const {
    std::vector<agent::ChunkHeader> chunks;
    for (const auto& s : sent_) {
      if (s.topic != topic) continue;
      const auto decoded = agent::DecodeChunk(s.payload);
      EXPECT_TRUE(decoded.ok());
      chunks.push_back(decoded->header);
    }
    return chunks;
  }

  static EntryPtr Image(image::ImageVersion v, size_t bytes) {
    Catalog catalog;
    catalog.Add("B", "img", testing::SignedImage(v, bytes), testing::TrustingTestKey());
    return catalog.entries()[0];
  }

  Logger log_{LogLevel::kError, [](std::string_view) {}};
  std::unique_ptr<StreamScheduler> scheduler_;
  std::vector<Sent> sent_;
  size_t marker_cursor_ = 0;
  std::deque<uint64_t> ready_;
  std::vector<uint8_t> scratch_;
  int fail_publishes_ = 0;
};

TEST_F(StreamSchedulerTest, SendsEveryChunkInOrderWithinTheWindow) {
  Make({.window = 8});
  const EntryPtr image = Image({2, 1, 7, 0}, 100000);
  const uint32_t total = ChunkCount(image->size_bytes(), kChunkDataBytes);
  ASSERT_TRUE(scheduler_->Start("t/dev", image));
  std::vector<uint8_t> reassembled;
  size_t rounds = 0;
  while (scheduler_->stats().active > 0 && rounds++ < 1000) {
    PumpAll();
    // Never more than the window unconfirmed: chunks sent minus confirmed.
    size_t markers_pending = 0, chunks = 0;
    for (size_t i = marker_cursor_; i < sent_.size(); ++i) {
      (sent_[i].topic == kFlow ? markers_pending : chunks) += 1;
    }
    EXPECT_LE(markers_pending, 2u);
    EchoMarkers();
  }
  EXPECT_EQ(scheduler_->stats().streams_done, 1u);
  const auto chunks = ChunksTo("t/dev");
  ASSERT_EQ(chunks.size(), total);
  for (uint32_t i = 0; i < total; ++i) {
    EXPECT_EQ(chunks[i].this_payload_index, i);
    EXPECT_EQ(chunks[i].total_num_payloads, total);
    EXPECT_EQ(chunks[i].version_major, 2);
    EXPECT_EQ(chunks[i].version_minor, 1);
    EXPECT_EQ(chunks[i].version_build, 7);
  }
  for (const auto& s : sent_) {
    if (s.topic == kFlow) continue;
    const auto c = agent::DecodeChunk(s.payload);
    reassembled.insert(reassembled.end(), c->data.begin(), c->data.end());
  }
  EXPECT_EQ(reassembled, *image->bytes);
}

TEST_F(StreamSchedulerTest, StopsAtTheWindowUntilTheBrokerConfirms) {
  Make({.window = 8});
  ASSERT_TRUE(scheduler_->Start("t/dev", Image({1, 0, 0, 0}, 200000)));
  PumpAll();
  EXPECT_EQ(ChunksTo("t/dev").size(), 8u);  // two batches of 4, then nothing
  PumpAll();
  EXPECT_EQ(ChunksTo("t/dev").size(), 8u);
  EXPECT_TRUE(scheduler_->OnFlowMarker(sent_[4].payload));  // first batch's marker
  PumpAll();
  EXPECT_EQ(ChunksTo("t/dev").size(), 12u);
}

TEST_F(StreamSchedulerTest, AskingAgainRestartsAtChunkZero) {
  Make({.window = 4});
  const EntryPtr image = Image({1, 0, 0, 0}, 50000);
  ASSERT_TRUE(scheduler_->Start("t/dev", image));
  PumpAll();
  EchoMarkers();
  PumpAll();
  const size_t before = ChunksTo("t/dev").size();
  ASSERT_GT(before, 2u);
  ASSERT_TRUE(scheduler_->Start("t/dev", image));
  EchoMarkers();
  PumpAll();
  EXPECT_EQ(ChunksTo("t/dev")[before].this_payload_index, 0u);
  EXPECT_EQ(scheduler_->stats().active, 1u);
}

TEST_F(StreamSchedulerTest, StreamsBeyondMaxActiveWaitTheirTurn) {
  Make({.window = 4, .max_active = 1, .max_waiting = 1});
  const EntryPtr image = Image({1, 0, 0, 0}, 9000);  // 3 chunks
  ASSERT_TRUE(scheduler_->Start("t/a", image));
  ASSERT_TRUE(scheduler_->Start("t/b", image));
  EXPECT_FALSE(scheduler_->Start("t/c", image));  // waiting list full
  EXPECT_EQ(scheduler_->stats().waiting, 1u);
  PumpAll();
  EXPECT_TRUE(ChunksTo("t/b").empty());
  for (int i = 0; i < 10 && scheduler_->stats().streams_done < 2; ++i) {
    EchoMarkers();
    PumpAll();
  }
  EXPECT_EQ(ChunksTo("t/a").size(), 3u);
  EXPECT_EQ(ChunksTo("t/b").size(), 3u);
  EXPECT_TRUE(scheduler_->WaitIdle(StreamScheduler::Clock::now()));
}

TEST_F(StreamSchedulerTest, AFailedPublishPausesAndTickResumesFromThatChunk) {
  Make({.window = 8, .stall_timeout = std::chrono::milliseconds(100)});
  ASSERT_TRUE(scheduler_->Start("t/dev", Image({1, 0, 0, 0}, 30000)));  // 8 chunks
  fail_publishes_ = 1;
  PumpAll();  // chunk 0 refused: paused, nothing sent
  EXPECT_TRUE(ChunksTo("t/dev").empty());
  scheduler_->Tick(StreamScheduler::Clock::now());  // too early
  EXPECT_TRUE(ready_.empty());
  scheduler_->Tick(StreamScheduler::Clock::now() + std::chrono::milliseconds(200));
  for (int i = 0; i < 10 && scheduler_->stats().active > 0; ++i) {
    PumpAll();
    EchoMarkers();
  }
  const auto chunks = ChunksTo("t/dev");
  ASSERT_EQ(chunks.size(), 8u);
  EXPECT_EQ(chunks[0].this_payload_index, 0u);
}

TEST_F(StreamSchedulerTest, ALostMarkerStallsOnlyUntilTheTimeout) {
  Make({.window = 2, .stall_timeout = std::chrono::milliseconds(100)});
  ASSERT_TRUE(scheduler_->Start("t/dev", Image({1, 0, 0, 0}, 30000)));
  PumpAll();
  EXPECT_EQ(ChunksTo("t/dev").size(), 2u);  // batches of 1, two in flight
  marker_cursor_ = sent_.size();            // the broker connection dropped them
  scheduler_->ResumeAll();                  // as after a reconnection
  PumpAll();
  EXPECT_EQ(ChunksTo("t/dev").size(), 4u);
  marker_cursor_ = sent_.size();  // lost again, no reconnection this time
  scheduler_->Tick(StreamScheduler::Clock::now());
  PumpAll();
  EXPECT_EQ(ChunksTo("t/dev").size(), 4u);  // not yet
  scheduler_->Tick(StreamScheduler::Clock::now() + std::chrono::seconds(1));
  PumpAll();
  EXPECT_EQ(ChunksTo("t/dev").size(), 6u);
}

TEST_F(StreamSchedulerTest, IgnoresForeignMarkersAndAbandonsOnRequest) {
  Make({});
  const std::string mine = scheduler_->Marker(1, 1);
  const std::string foreign = "0123456789abcdef 1 1";
  for (const std::string& bad :
       {foreign, std::string("garbage"), std::string(""), mine.substr(0, 17) + "x 1", mine + " 1",
        mine + "0000000000000000000000"}) {
    EXPECT_FALSE(
        scheduler_->OnFlowMarker({reinterpret_cast<const uint8_t*>(bad.data()), bad.size()}))
        << bad;
  }
  ASSERT_TRUE(scheduler_->Start("t/dev", Image({1, 0, 0, 0}, 30000)));
  EXPECT_FALSE(scheduler_->WaitIdle(StreamScheduler::Clock::now()));
  EXPECT_EQ(scheduler_->AbandonAll(), 1u);
  PumpAll();  // the queued pump finds nothing
  EXPECT_TRUE(ChunksTo("t/dev").empty());
  EXPECT_TRUE(scheduler_->WaitIdle(StreamScheduler::Clock::now()));
}

}  // namespace
}  // namespace mqota::server
