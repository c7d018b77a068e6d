// Requests on a device's own topic (docs/spec/mqota-protocol.md#device-topics)
// and the fleet's choice of image, through the pure request handler: who a
// request is from and whether that is proven, "Progress", and offers decided
// by a ChooseImage (a campaign) instead of the catalog's newest.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <tuple>

#include "mqota/server/request_handler.h"
#include "test_images.h"

namespace mqota::server {
namespace {

using nlohmann::json;

constexpr char kSharedTopic[] = "mqota/BOARD_A/publish_notify";
constexpr char kOwnTopic[] = "mqota/BOARD_A/device/dev-1/request";
constexpr char kReplyTopic[] = "mqota/BOARD_A/OTAImage/dev-1/4711";

class DeviceRequestsTest : public ::testing::Test {
 protected:
  DeviceRequestsTest() {
    config_.prefix = "mqota";
    config_.flow_topic = "mqota/mqota-server/srv/flow";
    catalog_.Add("BOARD_A", "a-1.1.0.bin", testing::SignedImage({1, 1, 0, 0}, 10000),
                 testing::TrustingTestKey());
    catalog_.Add("BOARD_A", "a-1.2.0.bin", testing::SignedImage({1, 2, 0, 0}, 9000),
                 testing::TrustingTestKey());
  }

  Response Handle(const json& message, const std::string& topic, const ChooseImage& choose = {}) {
    const std::string text = message.dump();
    const std::vector<uint8_t> bytes(text.begin(), text.end());
    return HandleRequest(topic, bytes, catalog_, no_offers_, config_, {}, choose);
  }

  static json Ask(const std::string& reply_topic = kReplyTopic) {
    return {{"Message", "Update Availability"},
            {"BoardName", "BOARD_A"},
            {"Version", "1.0.0"},
            {"UniqueTopicName", reply_topic}};
  }

  HandlerConfig config_;
  Catalog catalog_;
  OfferLookup no_offers_ = [](std::string_view) { return EntryPtr(); };
};

TEST_F(DeviceRequestsTest, ARequestOnItsOwnTopicIsProvenOnTheSharedTopicOnlyClaimed) {
  const Response own = Handle(Ask(), kOwnTopic);
  EXPECT_EQ(own.device, "dev-1");
  EXPECT_TRUE(own.verified);
  ASSERT_TRUE(own.sighting);
  EXPECT_TRUE(own.sighting->verified);
  EXPECT_EQ(own.sighting->board, "BOARD_A");
  EXPECT_EQ(own.sighting->version, (image::ImageVersion{1, 0, 0, 0}));

  const Response shared = Handle(Ask(), kSharedTopic);
  EXPECT_EQ(shared.device, "dev-1");  // from its reply topic: anyone could write that
  EXPECT_FALSE(shared.verified);
  ASSERT_TRUE(shared.sighting);
  EXPECT_FALSE(shared.sighting->verified);
}

TEST_F(DeviceRequestsTest, AReferenceDeviceNamesNoDevice) {
  const Response r = Handle(Ask("mqota/BOARD_A/OTAImage/1234"), kSharedTopic);
  EXPECT_EQ(r.device, "");
  EXPECT_FALSE(r.sighting);
  ASSERT_EQ(r.publish.size(), 1u);  // still answered, as the reference needs
}

TEST_F(DeviceRequestsTest, ADeviceCannotHaveAnswersSentToAnotherDevicesTopic) {
  const Response r = Handle(Ask("mqota/BOARD_A/OTAImage/dev-2/4711"), kOwnTopic);
  EXPECT_TRUE(r.publish.empty());
  EXPECT_FALSE(r.sighting);
  EXPECT_NE(r.log.find("dev-1's own topic names a UniqueTopicName that is not that device's"),
            std::string::npos)
      << r.log;
}

TEST_F(DeviceRequestsTest, OtherTopicShapesAreNotRequestTopics) {
  for (const char* topic :
       {"mqota/BOARD_A/device/dev-1/notify", "mqota/BOARD_A/device/dev-1/request/x",
        "mqota/BOARD_A/device//request", "mqota/BOARD_A/devices/dev-1/request",
        "mqota/device/dev-1/request", "other/BOARD_A/device/dev-1/request"}) {
    const Response r = Handle(Ask(), topic);
    EXPECT_TRUE(r.publish.empty()) << topic;
    EXPECT_NE(r.log.find("not a request topic"), std::string::npos) << topic << ": " << r.log;
  }
}

TEST_F(DeviceRequestsTest, ProgressIsRecordedAndNotAnswered) {
  const json progress = {{"Message", "Progress"},
                         {"UniqueTopicName", kReplyTopic},
                         {"Version", "1.2.0"},
                         {"State", "downloading"},
                         {"Percent", "45"}};
  const Response r = Handle(progress, kOwnTopic);
  EXPECT_TRUE(r.publish.empty());
  ASSERT_TRUE(r.report);
  EXPECT_EQ(r.report->device, "dev-1");
  EXPECT_EQ(r.report->outcome, "downloading");
  EXPECT_EQ(r.report->percent, 45);
  EXPECT_EQ(r.report->version, (image::ImageVersion{1, 2, 0, 0}));
  EXPECT_TRUE(r.report->verified);
  EXPECT_EQ(r.level, LogLevel::kDebug);

  for (const auto& [key, value] : std::vector<std::pair<std::string, std::string>>{
           {"Percent", "101"}, {"Percent", "-1"}, {"Percent", ""}, {"State", "flying"}}) {
    json bad = progress;
    bad[key] = value;
    const Response refused = Handle(bad, kOwnTopic);
    EXPECT_FALSE(refused.report) << key << "=" << value;
    EXPECT_NE(refused.log.find("ignored"), std::string::npos) << refused.log;
  }
}

TEST_F(DeviceRequestsTest, AResultCarriesItsReasonAndWhetherItIsProven) {
  const json failure = {{"Message", "Boot Report"},
                        {"UniqueTopicName", kReplyTopic},
                        {"Version", "1.2.0"},
                        {"Outcome", "reverted"},
                        {"Reason", "not confirmed after the update"}};
  const Response r = Handle(failure, kOwnTopic);
  ASSERT_TRUE(r.report);
  EXPECT_EQ(r.report->outcome, "reverted");
  EXPECT_TRUE(r.report->refused);
  EXPECT_EQ(r.report->reason, "not confirmed after the update");
  EXPECT_TRUE(r.report->verified);
  EXPECT_EQ(r.report->board, "BOARD_A");
  EXPECT_FALSE(Handle(failure, kSharedTopic).report->verified);
}

TEST_F(DeviceRequestsTest, TheFleetChoosesWhatIsOfferedAndSaysWhy) {
  std::vector<std::tuple<std::string, std::string, bool>> asked;  // device, board, verified
  const EntryPtr older = catalog_.entries().front();              // 1.1.0, not the newest
  const ChooseImage campaign = [&](const Asker& a) {
    asked.emplace_back(a.device, a.board, a.verified);
    return Choice{older, "campaign 7, wave 1", 7};
  };
  const Response r = Handle(Ask(), kOwnTopic, campaign);
  ASSERT_EQ(asked.size(), 1u);
  EXPECT_EQ(asked[0], std::make_tuple(std::string("dev-1"), std::string("BOARD_A"), true));
  EXPECT_EQ(r.remember_offer, older);
  EXPECT_EQ(r.campaign, 7);
  ASSERT_EQ(r.publish.size(), 1u);
  EXPECT_EQ(json::parse(r.publish[0].payload)["Version"], "1.1.0");
  EXPECT_NE(r.log.find("offering BOARD_A 1.1.0 (a-1.1.0.bin) (campaign 7, wave 1)"),
            std::string::npos)
      << r.log;

  const ChooseImage nothing = [](const Asker&) {
    return Choice{nullptr, "no running campaign targets it", std::nullopt};
  };
  const Response none = Handle(Ask(), kOwnTopic, nothing);
  EXPECT_FALSE(none.remember_offer);
  EXPECT_EQ(json::parse(none.publish[0].payload)["Message"], "No Update Available");
  EXPECT_NE(none.log.find("no update (no running campaign targets it)"), std::string::npos)
      << none.log;
}

TEST_F(DeviceRequestsTest, WithoutAnOfferAChunkRequestAsksTheFleetToo) {
  const EntryPtr older = catalog_.entries().front();
  const ChooseImage campaign = [&](const Asker&) { return Choice{older, "", 3}; };
  const json chunk = {{"Message", "Request Data Chunk"},
                      {"UniqueTopicName", kReplyTopic},
                      {"Version", "1.0.0"},
                      {"Offset", "0"},
                      {"Size", "4096"}};
  const Response r = Handle(chunk, kOwnTopic, campaign);
  EXPECT_EQ(r.remember_offer, older);
  EXPECT_EQ(r.campaign, 3);
  ASSERT_EQ(r.publish.size(), 1u);
}

}  // namespace
}  // namespace mqota::server
