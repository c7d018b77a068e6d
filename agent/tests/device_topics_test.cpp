// The device topics (docs/spec/mqota-protocol.md#device-topics): an agent
// that hears mqota-server's retained announcement asks and reports on its
// own request topic, reports progress and checks at once when nudged; one
// that does not hear it within the wait speaks the reference protocol on the
// shared topic, as a reference publisher needs.
#include <gtest/gtest.h>

#include "agent_fixture.h"

namespace mqota::agent {
namespace {

using fixture::kAnnouncement;
using fixture::kAnnounceTopic;
using fixture::kDeviceRequestTopic;
using fixture::kNotifyTopic;
using fixture::kRequestTopic;

class DeviceTopicsTest : public fixture::PullTest {
 protected:
  std::vector<nlohmann::json> DeviceRequests() const {
    return transport_.MessagesOn(kDeviceRequestTopic);
  }
  std::vector<nlohmann::json> Progress() const {
    std::vector<nlohmann::json> out;
    for (const auto& m : DeviceRequests()) {
      if (m["Message"] == "Progress") out.push_back(m);
    }
    return out;
  }
  void Connect() { agent_->OnConnected(now_); }
  void Announce() { Deliver(kAnnounceTopic, kAnnouncement); }
};

TEST_F(DeviceTopicsTest, WithoutAnAnnouncementTheFirstSessionWaitsThenUsesTheSharedTopic) {
  Connect();
  EXPECT_TRUE(transport_.subscriptions.count(kAnnounceTopic));
  EXPECT_TRUE(transport_.subscriptions.count(kNotifyTopic));
  agent_->CheckNow(now_);
  EXPECT_EQ(agent_->status().state, AgentState::kIdle);
  EXPECT_TRUE(transport_.published.empty());
  EXPECT_EQ(agent_->next_deadline_ms(), now_ + config_.announce_wait_ms);
  now_ = agent_->next_deadline_ms();
  agent_->OnTick(now_);
  ASSERT_EQ(Requests().size(), 1u);
  EXPECT_EQ(Requests()[0]["Message"], "Update Availability");
  EXPECT_TRUE(DeviceRequests().empty());
  EXPECT_FALSE(agent_->status().server_announced);
}

TEST_F(DeviceTopicsTest, AnAnnouncementStartsTheWaitingSessionAtOnceOnTheDeviceTopic) {
  Connect();
  agent_->CheckNow(now_);
  now_ += 20;  // the retained message follows the subscription within a round trip
  Announce();
  EXPECT_TRUE(agent_->status().server_announced);
  ASSERT_EQ(DeviceRequests().size(), 1u);
  EXPECT_EQ(DeviceRequests()[0]["Message"], "Update Availability");
  EXPECT_EQ(DeviceRequests()[0]["UniqueTopicName"], Topic());
  EXPECT_TRUE(Requests().empty());  // nothing on the shared topic
}

// The running image's digest goes to an mqota-server only: the reference's
// "Update Availability" stays as the reference sends it.
TEST_F(DeviceTopicsTest, TheRunningImagesDigestIsToldOnlyToAnAnnouncedServer) {
  std::array<uint8_t, 32> digest{};
  for (size_t i = 0; i < digest.size(); ++i) digest[i] = static_cast<uint8_t>(i * 9);
  config_.running_image_digest = digest;
  Rebuild();
  Connect();
  agent_->CheckNow(now_);
  now_ = agent_->next_deadline_ms();
  agent_->OnTick(now_);  // no announcement: the shared topic
  ASSERT_EQ(Requests().size(), 1u);
  EXPECT_FALSE(Requests()[0].contains("ImageSha256"));

  Rebuild();
  Connect();
  Announce();
  agent_->CheckNow(now_);
  ASSERT_EQ(DeviceRequests().size(), 1u);
  EXPECT_EQ(DeviceRequests()[0]["ImageSha256"],
            "0009121b242d363f48515a636c757e879099a2abb4bdc6cfd8e1eaf3fc050e17");
}

TEST_F(DeviceTopicsTest, AWholeDownloadReportsProgressAndItsResultOnTheDeviceTopic) {
  Connect();
  Announce();
  agent_->CheckNow(now_);
  Deliver(Topic(), PullJob());
  Serve();
  ExpectInstalled();
  EXPECT_TRUE(Requests().empty());
  const auto progress = Progress();
  // 15 granules of about 6.7 % each: every one is a 5 % step.
  ASSERT_EQ(progress.size(), Granules() - 1);  // the last one is the result itself
  int last = -1;
  for (const auto& p : progress) {
    EXPECT_EQ(p["State"], "downloading");
    EXPECT_EQ(p["Version"], "1.1.0");
    EXPECT_EQ(p["UniqueTopicName"], Topic());
    const int percent = std::stoi(p["Percent"].get<std::string>());
    EXPECT_GT(percent, last);
    EXPECT_LT(percent, 100);
    last = percent;
  }
  EXPECT_EQ(DeviceRequests().back()["Message"], "Success");
  EXPECT_EQ(DeviceRequests().back()["Outcome"], "pending");
  EXPECT_EQ(agent_->status().progress_reports, progress.size());
}

TEST_F(DeviceTopicsTest, ProgressComesEveryStepOrEveryIntervalWhicheverIsFirst) {
  struct Case {
    uint32_t step_percent;
    uint64_t granule_every_ms;
    std::vector<int> percents;  // 15 granules: k of them is k * 100 / 15 %
  };
  const Case cases[] = {
      // A slow link (a granule every 3 s): the 10 s interval comes first,
      // at 12, 24 and 36 s; 50 % more is never reached in between.
      {50, 3000, {26, 53, 80}},
      // A faster one (every 2 s): each 20 % step comes first, at 6, 12, 18, 24 s.
      {20, 2000, {20, 40, 60, 80}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.step_percent);
    config_.progress_step_percent = c.step_percent;
    config_.progress_interval_ms = 10'000;
    Rebuild();
    transport_.published.clear();
    served_ = 0;
    asked_.clear();
    (void)secondary_.Erase(0, secondary_.size_bytes());
    Connect();
    Announce();
    agent_->CheckNow(now_);
    Deliver(Topic(), PullJob());
    Serve(nullptr, nullptr, c.granule_every_ms);
    ExpectInstalled();
    std::vector<int> percents;
    for (const auto& p : Progress()) {
      percents.push_back(std::stoi(p["Percent"].get<std::string>()));
    }
    EXPECT_EQ(percents, c.percents);
  }
}

TEST_F(DeviceTopicsTest, AClearedAnnouncementSendsTheDeviceBackToTheSharedTopic) {
  Connect();
  Announce();
  Deliver(kAnnounceTopic, std::string());  // the server stopped: its retained message cleared
  EXPECT_FALSE(agent_->status().server_announced);
  now_ += config_.announce_wait_ms;
  agent_->CheckNow(now_);
  EXPECT_EQ(Requests().size(), 1u);
  EXPECT_TRUE(DeviceRequests().empty());
}

TEST_F(DeviceTopicsTest, OnlyAnAnnouncementIsOne) {
  Connect();
  for (const char* payload : {R"({"Message": "mqota-serverX"})", R"({"Message": 1})", "[]",
                              "{\"Message\": \"mqota-server\"", "mqota-server"}) {
    Deliver(kAnnounceTopic, payload);
    EXPECT_FALSE(agent_->status().server_announced) << payload;
  }
}

TEST_F(DeviceTopicsTest, ANudgeStartsASessionWhenIdleAndChangesNothingDuringOne) {
  Connect();
  Announce();
  Deliver(kNotifyTopic, R"({"Message": "Check Now"})");
  ASSERT_EQ(DeviceRequests().size(), 1u);
  EXPECT_EQ(agent_->status().state, AgentState::kAwaitingJob);
  Deliver(kNotifyTopic, R"({"Message": "Check Now"})");
  EXPECT_EQ(DeviceRequests().size(), 1u);
  EXPECT_EQ(agent_->status().notifications, 2u);
}

TEST_F(DeviceTopicsTest, AReferencePublisherGetsNoProgressMessages) {
  Connect();
  now_ += config_.announce_wait_ms;  // no announcement: a reference set-up
  agent_->CheckNow(now_);
  Deliver(Topic(), PullJob());
  Serve();
  ExpectInstalled();
  for (const auto& m : transport_.published) {
    EXPECT_EQ(m.payload.find("Progress"), std::string::npos) << m.payload;
  }
  EXPECT_TRUE(DeviceRequests().empty());
}

// mqota-server acknowledges a boot report only once it is on disk, so a
// server that is down for a while must not make the device give up telling
// it (a reference publisher, which never acknowledges, gets it 3 times).
TEST_F(DeviceTopicsTest, ABootReportIsSentUntilMqotaServerAcknowledgesIt) {
  Connect();
  Announce();
  agent_->ReportBoot({BootReportKind::kConfirmed, {1, 1, 0, 0}, ""});
  for (int session = 1; session <= 6; ++session) {
    agent_->CheckNow(now_);
    ASSERT_EQ(DeviceRequests().back()["Message"], "Boot Report") << session;
    now_ = agent_->next_deadline_ms();
    agent_->OnTick(now_);  // no acknowledgement: asks for a job anyway
    Deliver(Topic(), R"({"Message": "No Update Available"})");
    ASSERT_EQ(agent_->status().state, AgentState::kIdle) << session;
  }
  agent_->CheckNow(now_);
  ASSERT_EQ(DeviceRequests().back()["Message"], "Boot Report");
  Deliver(Topic(), R"({"Message": "Result Received", "UniqueTopicName": ")" + Topic() + R"("})");
  EXPECT_EQ(DeviceRequests().back()["Message"], "Update Availability");
  Deliver(Topic(), R"({"Message": "No Update Available"})");
  agent_->CheckNow(now_);
  EXPECT_EQ(DeviceRequests().back()["Message"], "Update Availability");  // delivered: done
}

TEST_F(DeviceTopicsTest, TurnedOffTheAgentNeitherWaitsNorSubscribes) {
  config_.device_topics = false;
  Rebuild();
  Connect();
  Announce();
  EXPECT_FALSE(transport_.subscriptions.count(kAnnounceTopic));
  EXPECT_FALSE(transport_.subscriptions.count(kNotifyTopic));
  agent_->CheckNow(now_);
  EXPECT_EQ(Requests().size(), 1u);
  EXPECT_TRUE(DeviceRequests().empty());
}

}  // namespace
}  // namespace mqota::agent
