// Request handling as a pure function: message in, decision out. Covers the
// protocol's rules (docs/spec/reference-protocol.md#json-messages,
// docs/spec/reference-protocol.md#single-chunk-requests) and every kind of
// malformed input (R1), without a broker.
#include "mqota/server/request_handler.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>

#include "mqota/agent/job.h"
#include "mqota/agent/protocol.h"
#include "mqota/base/crc32c.h"
#include "mqota/base/endian.h"
#include "mqota/server/chunks.h"
#include "mqota/testing/random_bytes.h"
#include "reference_requests.h"
#include "test_images.h"

namespace mqota::server {
namespace {

using nlohmann::json;
using testing::EmulatorAsks;
using testing::SignedImage;
using testing::TrustingTestKey;

constexpr char kRequestTopic[] = "mqota/BOARD_A/publish_notify";
constexpr char kDeviceTopic[] = "mqota/BOARD_A/OTAImage/dev-1/4711";

std::vector<uint8_t> Bytes(std::string_view text) { return {text.begin(), text.end()}; }

class RequestHandlerTest : public ::testing::Test {
 protected:
  RequestHandlerTest() {
    config_.prefix = "mqota";
    config_.job_port = 8883;
    config_.flow_topic = "mqota/mqota-server/srv/flow";
    catalog_.Add("BOARD_A", "a-1.1.0.bin", SignedImage({1, 1, 0, 0}, 10000), TrustingTestKey());
    catalog_.Add("BOARD_A", "a-1.2.0.bin", SignedImage({1, 2, 0, 0}, 9000), TrustingTestKey());
    old_ = catalog_.NewestNewerThan("BOARD_A", {1, 0, 0, 0});  // 1.2.0
  }

  Response Handle(const std::string& payload, const std::string& topic = kRequestTopic) {
    return HandleRequest(topic, Bytes(payload), catalog_, lookup_, config_);
  }

  static std::string Request(const std::string& message, const std::string& version = "1.0.0",
                             const std::string& topic = kDeviceTopic,
                             const json& extra = json::object()) {
    // As a 4.2.0 device sends it (docs/spec/reference-protocol.md#device-requests),
    // plus `extra`.
    json j = {{"Message", message},
              {"Manufacturer", "Express Widgits Corporation"},
              {"ManufacturerID", "EWCO"},
              {"ProductID", "Easy Widgit"},
              {"SerialNumber", "ABC213450001"},
              {"BoardName", "BOARD_A"},
              {"Version", version},
              {"UniqueTopicName", topic}};
    j.update(extra);
    return j.dump();
  }

  HandlerConfig config_;
  Catalog catalog_;
  EntryPtr old_;
  OfferLookup lookup_ = [](std::string_view) { return EntryPtr(); };
};

void ExpectIgnored(const Response& r) {
  EXPECT_EQ(r.level, LogLevel::kWarn);
  EXPECT_TRUE(r.publish.empty());
  EXPECT_EQ(r.stream, nullptr);
  EXPECT_EQ(r.remember_offer, nullptr);
  EXPECT_NE(r.log.find("ignored"), std::string::npos) << r.log;
  EXPECT_EQ(r.log.find('\n'), std::string::npos);
}

TEST_F(RequestHandlerTest, OffersTheNewestNewerImageAsAJobDocument) {
  const Response r = Handle(Request("Update Availability", "1.0.0"));
  ASSERT_EQ(r.publish.size(), 1u) << r.log;
  EXPECT_EQ(r.level, LogLevel::kInfo);
  EXPECT_EQ(r.publish[0].topic, kDeviceTopic);
  EXPECT_EQ(r.remember_offer, old_);
  EXPECT_TRUE(r.awaits_follow_up);  // the device should now ask for the data
  EXPECT_EQ(r.stream, nullptr);
  const std::string text(r.publish[0].payload.begin(), r.publish[0].payload.end());
  EXPECT_LE(text.size(), agent::kMaxJsonDocumentBytes);
  const json job = json::parse(text);
  // Every value a string (docs/spec/reference-protocol.md#common-rules).
  for (const auto& [k, v] : job.items()) EXPECT_TRUE(v.is_string()) << k;
  EXPECT_EQ(job["Message"], "Update Available");
  EXPECT_EQ(job["Board"], "BOARD_A");
  EXPECT_EQ(job["Version"], "1.2.0");
  EXPECT_EQ(job["Connection"], "MQTT");
  EXPECT_EQ(job["Broker"], "");
  EXPECT_EQ(job["Port"], "8883");
  EXPECT_EQ(job["UniqueTopicName"], kDeviceTopic);
  EXPECT_EQ(job["ImageSize"], std::to_string(old_->size_bytes()));
  EXPECT_EQ(job["ChunkSize"], "4096");
  EXPECT_EQ(job["ImageSha256"], old_->Sha256Hex());
  EXPECT_EQ(job["ImageSha256"].get<std::string>().size(), 64u);
  EXPECT_EQ(job["ChunkCrc"], "crc32c");
  // And mqota's own device reads it as intended.
  const auto parsed = agent::ParseJob(text);
  ASSERT_TRUE(parsed.ok()) << agent::Describe(parsed.error());
  EXPECT_EQ(parsed->kind, agent::JobKind::kUpdateAvailable);
  EXPECT_EQ(parsed->version, (image::ImageVersion{1, 2, 0, 0}));
  EXPECT_EQ(parsed->port, 8883);
  EXPECT_EQ(parsed->image_size_bytes, old_->size_bytes());
  EXPECT_EQ(parsed->chunk_bytes, 4096u);
  EXPECT_TRUE(parsed->has_image_tag);
  EXPECT_TRUE(parsed->chunk_crc32c);
}

// docs/spec/mqota-protocol.md#running-image: the digest a device states is
// kept in the catalog's lower case; anything but 64 hex digits is not a digest.
TEST_F(RequestHandlerTest, TheRunningImagesDigestGoesWithTheSighting) {
  const std::string upper(64, 'A');
  Response r =
      Handle(Request("Update Availability", "1.0.0", kDeviceTopic, {{"ImageSha256", upper}}),
             "mqota/BOARD_A/device/dev-1/request");
  ASSERT_TRUE(r.sighting);
  EXPECT_EQ(r.sighting->image_sha256, std::string(64, 'a'));
  for (const std::string& bad : {std::string(63, 'a'), std::string(64, 'g'), std::string()}) {
    r = Handle(Request("Update Availability", "1.0.0", kDeviceTopic, {{"ImageSha256", bad}}),
               "mqota/BOARD_A/device/dev-1/request");
    ASSERT_TRUE(r.sighting);
    EXPECT_EQ(r.sighting->image_sha256, "") << bad;
  }
}

// docs/spec/mqota-protocol.md#patches: a device that takes patches and runs
// a patch's source gets the patch offered, and its chunks served by name;
// anyone else gets the image as before.
TEST(RequestHandlerPatches, APatchIsOfferedToADeviceRunningItsSourceAndServedByName) {
  auto payload = mqota::testing::PseudoRandomBytes(30000, 5);
  const auto v100 = testing::SignedPayload({1, 0, 0, 0}, payload);
  payload[1000] ^= 0xff;
  payload.insert(payload.begin() + 20000, 77);
  const auto v110 = testing::SignedPayload({1, 1, 0, 0}, payload);
  Catalog catalog;
  catalog.Add("BOARD_A", "a-1.0.0.bin", v100, TrustingTestKey());
  catalog.Add("BOARD_A", "a-1.1.0.bin", v110, TrustingTestKey());
  EXPECT_EQ(catalog.MakePatches({}), 1u);
  ASSERT_EQ(catalog.patches().size(), 1u);
  const PatchPtr patch = catalog.patches()[0];
  EXPECT_EQ(patch->source->ProtocolVersion(), "1.0.0");
  EXPECT_EQ(patch->target->ProtocolVersion(), "1.1.0");
  EXPECT_LT(patch->size_bytes() * 10, patch->target->size_bytes());

  HandlerConfig config;
  OfferLookup none = [](std::string_view) { return EntryPtr(); };
  const std::string own_topic = "mqota/BOARD_A/device/dev-1/request";
  const json ask = {{"Message", "Update Availability"},
                    {"Version", "1.0.0"},
                    {"UniqueTopicName", kDeviceTopic},
                    {"ImageSha256", patch->source->Sha256Hex()},
                    {"AcceptPatch", "mqota-delta-2"}};
  Response r = HandleRequest(own_topic, Bytes(ask.dump()), catalog, none, config);
  ASSERT_EQ(r.publish.size(), 1u) << r.log;
  const std::string text(r.publish[0].payload.begin(), r.publish[0].payload.end());
  const json job = json::parse(text);
  EXPECT_EQ(job["Version"], "1.1.0");
  EXPECT_EQ(job["ImageSize"], std::to_string(v110.size()));
  EXPECT_EQ(job["PatchSize"], std::to_string(patch->size_bytes()));
  EXPECT_EQ(job["PatchSha256"], patch->Sha256Hex());
  EXPECT_NE(r.log.find("as a patch of"), std::string::npos) << r.log;
  const auto parsed = agent::ParseJob(text);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->patch_size_bytes, patch->size_bytes());
  EXPECT_TRUE(
      std::equal(parsed->patch_sha256.begin(), parsed->patch_sha256.end(), patch->sha256.begin()));

  // Not offered: on the shared topic (who asks is not proven), without
  // AcceptPatch, another format (format 1's agents: the server makes format 2
  // only), or another running build.
  for (const auto& [topic, change] :
       {std::pair{std::string(kRequestTopic), json::object()},
        std::pair{own_topic, json{{"AcceptPatch", nullptr}}},
        std::pair{own_topic, json{{"AcceptPatch", "mqota-delta-1"}}},
        std::pair{own_topic, json{{"AcceptPatch", "mqota-delta-3"}}},
        std::pair{own_topic, json{{"ImageSha256", std::string(64, 'a')}}}}) {
    json other = ask;
    other.update(change);
    if (other["AcceptPatch"].is_null()) other.erase("AcceptPatch");
    r = HandleRequest(topic, Bytes(other.dump()), catalog, none, config);
    ASSERT_EQ(r.publish.size(), 1u) << r.log;
    const json plain = json::parse(r.publish[0].payload);
    EXPECT_EQ(plain["Version"], "1.1.0");
    EXPECT_FALSE(plain.contains("PatchSize")) << other.dump();
  }

  // Chunks of the patch, by name, under the target's version; any offset.
  const json chunk_request = {{"Message", "Request Data Chunk"},
                              {"Version", "1.0.0"},
                              {"UniqueTopicName", kDeviceTopic},
                              {"Offset", "100"},
                              {"Size", "4096"},
                              {"PatchSha256", patch->Sha256Hex()}};
  r = HandleRequest(own_topic, Bytes(chunk_request.dump()), catalog, none, config);
  ASSERT_EQ(r.publish.size(), 1u) << r.log;
  const auto decoded = agent::DecodeChunk(r.publish[0].payload);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->header.total_size, patch->size_bytes());
  EXPECT_EQ(decoded->header.image_offset, 100u);
  EXPECT_EQ(decoded->header.version_minor, 1);
  const auto want = patch->data().subspan(100, std::min<size_t>(4096, patch->size_bytes() - 100));
  EXPECT_TRUE(std::equal(decoded->data.begin(), decoded->data.end(), want.begin(), want.end()));
  json unknown = chunk_request;
  unknown["PatchSha256"] = std::string(64, 'b');
  r = HandleRequest(own_topic, Bytes(unknown.dump()), catalog, none, config);
  EXPECT_TRUE(r.publish.empty());
  EXPECT_NE(r.log.find("does not hold"), std::string::npos) << r.log;
}

TEST(RequestHandlerPatches, APatchNotMuchSmallerThanItsImageIsNotKept) {
  Catalog catalog;
  catalog.Add("BOARD_A", "a-1.0.0.bin", testing::SignedImage({1, 0, 0, 0}, 20000),
              TrustingTestKey());
  catalog.Add("BOARD_A", "a-1.1.0.bin", testing::SignedImage({1, 1, 0, 0}, 20000),
              TrustingTestKey());
  catalog.MakePatches({});  // unrelated random payloads: the patch is the image again
  EXPECT_TRUE(catalog.patches().empty());
}

TEST_F(RequestHandlerTest, NoUpdateForACurrentDeviceOrAnUnknownBoard) {
  for (const auto& [topic, device] :
       {std::pair{std::string(kRequestTopic), std::string(kDeviceTopic)},
        std::pair{std::string("mqota/BOARD_Z/publish_notify"), std::string("mqota/BOARD_Z/x/1")}}) {
    const Response r = Handle(Request("Update Availability", "1.2.0", device), topic);
    ASSERT_EQ(r.publish.size(), 1u) << r.log;
    EXPECT_EQ(r.publish[0].topic, device);
    const json doc = json::parse(r.publish[0].payload);
    EXPECT_EQ(doc["Message"], "No Update Available");
    EXPECT_EQ(doc["UniqueTopicName"], device);
    EXPECT_TRUE(r.forget_offer);
    EXPECT_EQ(r.remember_offer, nullptr);
    EXPECT_FALSE(r.awaits_follow_up);
    const auto parsed = agent::ParseJob(
        {reinterpret_cast<const char*>(r.publish[0].payload.data()), r.publish[0].payload.size()});
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(parsed->kind, agent::JobKind::kNoUpdate);
  }
}

TEST_F(RequestHandlerTest, RequestUpdateStreamsWhatThisDeviceWasOffered) {
  // Offered 1.1.0 earlier (say, before 1.2.0 was added): that is what it gets,
  // whatever was offered to others since (R12).
  const EntryPtr offered = catalog_.entries()[0];
  ASSERT_EQ(offered->ProtocolVersion(), "1.1.0");
  lookup_ = [&](std::string_view topic) { return topic == kDeviceTopic ? offered : EntryPtr(); };
  const Response r = Handle(Request("Request Update", "1.0.0"));
  EXPECT_EQ(r.stream, offered) << r.log;
  EXPECT_EQ(r.device_topic, kDeviceTopic);
  EXPECT_TRUE(r.publish.empty());
  EXPECT_EQ(r.remember_offer, nullptr);
}

TEST_F(RequestHandlerTest, RequestUpdateWithoutAnOfferUsesTheStatedVersion) {
  // The direct flow (docs/spec/reference-protocol.md#direct-flow), or a server
  // restarted between the requests.
  const Response r = Handle(Request("Request Update", "1.1.0"));
  EXPECT_EQ(r.stream, old_) << r.log;
  EXPECT_EQ(r.remember_offer, old_);
  // This request is itself the device asking; after a pushed stream a
  // reference device says nothing more (the example sends no result).
  EXPECT_FALSE(r.awaits_follow_up);
  ExpectIgnored(Handle(Request("Request Update", "1.2.0")));  // nothing newer
}

TEST_F(RequestHandlerTest, RequestDataChunkCutsLikePublisherPy) {
  const uint32_t size = old_->size_bytes();
  auto chunk = [&](const std::string& offset, const std::string& length) {
    return Handle(Request("Request Data Chunk", "1.0.0", kDeviceTopic,
                          {{"Filename", ""}, {"Offset", offset}, {"Size", length}}));
  };
  // Non-aligned, as publisher.py serves it: index = Offset / Size.
  const Response r = chunk("5000", "1000");
  ASSERT_EQ(r.publish.size(), 1u) << r.log;
  const auto c = agent::DecodeChunk(r.publish[0].payload);
  ASSERT_TRUE(c.ok()) << agent::Describe(c.error());
  EXPECT_EQ(c->header.image_offset, 5000u);
  EXPECT_EQ(c->header.data_size, 1000u);
  EXPECT_EQ(c->header.this_payload_index, 5u);
  EXPECT_EQ(c->header.total_num_payloads, (size + 999) / 1000);
  EXPECT_EQ(c->header.total_size, size);
  EXPECT_EQ(c->header.version_major, 1u);
  EXPECT_EQ(c->header.version_minor, 2u);
  EXPECT_TRUE(std::equal(c->data.begin(), c->data.end(), old_->data().begin() + 5000));
  // The last, short chunk.
  const Response last = chunk(std::to_string(size - 100), "4096");
  ASSERT_EQ(last.publish.size(), 1u) << last.log;
  EXPECT_EQ(agent::DecodeChunk(last.publish[0].payload)->header.data_size, 100u);
  // Refused, one line each (R11: "-1" is what the reference agent sends).
  for (const auto& [offset, length] : std::vector<std::pair<std::string, std::string>>{
           {"0", "-1"},
           {std::to_string(size), "4096"},
           {"0", "0"},
           {"0", "65536"},
           {"0", "1"} /* 9000+ chunks fit; still fine */,
           {"x", "4096"},
           {"", "4096"},
           {"0", "4096 "},
           {"99999999999", "4096"}}) {
    const Response bad = chunk(offset, length);
    if (offset == "0" && length == "1") {
      EXPECT_EQ(bad.publish.size(), 1u) << bad.log;
      continue;
    }
    ExpectIgnored(bad);
  }
  ExpectIgnored(Handle(Request("Request Data Chunk", "1.0.0", kDeviceTopic,
                               {{"Offset", 0}, {"Size", 4096}})));  // numbers, not strings
}

// mqota's pull mode: any Size the u16 data_size carries, and the CRC-32C
// after the data when (and only when) the request accepts it ("AcceptChunkCrc").
TEST_F(RequestHandlerTest, RequestDataChunkServesAnySizeAndACrcWhenAsked) {
  catalog_.Add("BOARD_B", "b-1.1.0.bin", SignedImage({1, 1, 0, 0}, 200000), TrustingTestKey());
  const EntryPtr big = catalog_.NewestNewerThan("BOARD_B", {1, 0, 0, 0});
  const uint32_t size = big->size_bytes();
  const std::string topic = "mqota/BOARD_B/OTAImage/dev-2/1";
  auto chunk = [&](uint32_t offset, uint32_t length, const json& extra = json::object()) {
    json fields = {
        {"Filename", ""}, {"Offset", std::to_string(offset)}, {"Size", std::to_string(length)}};
    fields.update(extra);
    return HandleRequest("mqota/BOARD_B/publish_notify",
                         Bytes(Request("Request Data Chunk", "1.0.0", topic, fields)), catalog_,
                         lookup_, config_);
  };
  auto expect_data = [&](const agent::Chunk& c, uint32_t offset, uint32_t length) {
    EXPECT_EQ(c.header.image_offset, offset);
    ASSERT_EQ(c.header.data_size, length);
    EXPECT_TRUE(std::equal(c.data.begin(), c.data.end(), big->data().begin() + offset));
  };
  const json crc = {{"AcceptChunkCrc", "crc32c"}};
  for (const uint32_t length : {8u, 1000u, 4096u, 32768u, 65528u, 65535u}) {
    SCOPED_TRACE(length);
    const uint32_t offset = length * 2;
    // Without it: exactly header + data (a reference device's chunk).
    const Response plain = chunk(offset, length);
    ASSERT_EQ(plain.publish.size(), 1u) << plain.log;
    const auto& p = plain.publish[0].payload;
    EXPECT_EQ(p.size(), agent::kChunkHeaderBytes + length);
    const auto c = agent::DecodeChunk(p);
    ASSERT_TRUE(c.ok()) << agent::Describe(c.error());
    expect_data(*c, offset, length);
    EXPECT_EQ(c->header.this_payload_index, 2u);
    EXPECT_EQ(c->header.total_num_payloads, ChunkCount(size, length));
    EXPECT_FALSE(agent::ChunkCrcMatches(p, c->header));
    // With it: the same, then 4 bytes of CRC-32C, little-endian.
    const Response checked = chunk(offset, length, crc);
    ASSERT_EQ(checked.publish.size(), 1u) << checked.log;
    const auto& q = checked.publish[0].payload;
    ASSERT_EQ(q.size(), agent::kChunkHeaderBytes + length + agent::kChunkCrcBytes);
    EXPECT_TRUE(std::equal(p.begin(), p.end(), q.begin()));  // offset_to_data 32, same header
    const auto d = agent::DecodeChunk(q);
    ASSERT_TRUE(d.ok());
    expect_data(*d, offset, length);
    const uint32_t expected = Crc32c(big->data().subspan(offset, length));
    EXPECT_EQ(LoadLe32(q, agent::kChunkHeaderBytes + length), expected);
    EXPECT_TRUE(agent::ChunkCrcMatches(q, d->header));
    EXPECT_NE(checked.log.find("CRC32C"), std::string::npos) << checked.log;
  }
  // The last, short chunk: its CRC right after its few bytes.
  const Response last = chunk(size - 10, 4096, crc);
  ASSERT_EQ(last.publish.size(), 1u);
  EXPECT_EQ(last.publish[0].payload.size(), agent::kChunkHeaderBytes + 10 + 4);
  EXPECT_TRUE(agent::ChunkCrcMatches(last.publish[0].payload,
                                     agent::DecodeChunk(last.publish[0].payload)->header));
  // The value is matched as keys are (case-insensitively); anything else,
  // or a non-string, means no CRC.
  EXPECT_EQ(chunk(0, 4096, {{"AcceptChunkCrc", "CRC32C"}}).publish[0].payload.size(),
            32u + 4096 + 4);
  EXPECT_EQ(chunk(0, 4096, {{"acceptchunkcrc", "crc32c"}}).publish[0].payload.size(),
            32u + 4096 + 4);
  EXPECT_EQ(chunk(0, 4096, {{"AcceptChunkCrc", "md5"}}).publish[0].payload.size(), 32u + 4096);
  EXPECT_EQ(chunk(0, 4096, {{"AcceptChunkCrc", 1}}).publish[0].payload.size(), 32u + 4096);
  // The job's offer echoed back is not an acceptance (see the emulator test).
  EXPECT_EQ(chunk(0, 4096, {{"ChunkCrc", "crc32c"}}).publish[0].payload.size(), 32u + 4096);
  // 64 KiB does not fit data_size (u16); nor do more than 65535 chunks.
  ExpectIgnored(chunk(0, 65536, crc));
  ExpectIgnored(chunk(0, 100000));
  ExpectIgnored(chunk(0, 3, crc));  // 67 000 chunks of a 200 KB image
}

TEST_F(RequestHandlerTest, ResultsAreAcknowledgedAndLogged) {
  const Response ok =
      Handle(json({{"Message", "Success"}, {"UniqueTopicName", kDeviceTopic}}).dump());
  ASSERT_EQ(ok.publish.size(), 1u) << ok.log;
  EXPECT_EQ(json::parse(ok.publish[0].payload)["Message"], "Result Received");
  EXPECT_EQ(ok.level, LogLevel::kInfo);
  EXPECT_TRUE(ok.forget_offer);
  const Response failed = Handle(json({{"Message", "Failure"},
                                       {"UniqueTopicName", kDeviceTopic},
                                       {"Version", "1.2.0"},
                                       {"Reason", "bad\nsignature"}})
                                     .dump());
  ASSERT_EQ(failed.publish.size(), 1u);
  EXPECT_EQ(failed.level, LogLevel::kWarn);
  EXPECT_NE(failed.log.find("Failure for 1.2.0: bad\\x0asignature"), std::string::npos)
      << failed.log;
}

// An mqota agent's result names what became of the update ("Outcome"); from
// an mqota reply topic (it names the device) that is a report to record.
TEST_F(RequestHandlerTest, ResultsWithAnOutcomeAreReportsAboutTheDevice) {
  const std::string topic = "mqota/BOARD_A/OTAImage/dev-1/0123456789abcdef";
  auto result = [&](const std::string& message, const std::string& outcome,
                    const std::string& version = "1.2.0") {
    json j = {{"Message", message},
              {"UniqueTopicName", topic},
              {"Version", version},
              {"Outcome", outcome}};
    if (message == "Failure") j["Reason"] = "not confirmed after the update";
    return Handle(j.dump());
  };
  for (const std::string outcome : {"reverted", "rejected", "refused"}) {
    SCOPED_TRACE(outcome);
    const Response r = result("Failure", outcome);
    ASSERT_TRUE(r.report.has_value()) << r.log;
    EXPECT_EQ(r.report->device, "dev-1");
    EXPECT_EQ(r.report->version, (image::ImageVersion{1, 2, 0, 0}));
    EXPECT_EQ(r.report->outcome, outcome);
    EXPECT_TRUE(r.report->refused);
    // Still acknowledged as any result is.
    ASSERT_EQ(r.publish.size(), 1u);
    EXPECT_EQ(r.publish[0].topic, topic);
    EXPECT_EQ(json::parse(r.publish[0].payload)["Message"], "Result Received");
    EXPECT_TRUE(r.forget_offer);
    EXPECT_NE(r.log.find("[" + outcome + "]"), std::string::npos) << r.log;
  }
  for (const auto& [message, outcome] : std::vector<std::pair<std::string, std::string>>{
           {"Success", "confirmed"}, {"Success", "pending"}, {"Failure", "failed"}}) {
    SCOPED_TRACE(outcome);
    const Response r = result(message, outcome, "1.1.0");
    ASSERT_TRUE(r.report.has_value()) << r.log;
    EXPECT_EQ(r.report->device, "dev-1");
    EXPECT_EQ(r.report->version, (image::ImageVersion{1, 1, 0, 0}));
    EXPECT_EQ(r.report->outcome, outcome);
    EXPECT_FALSE(r.report->refused);
    ASSERT_EQ(r.publish.size(), 1u);
  }
}

// What the last boot did comes as its own message, so a publisher counting
// "Success" results counts one per update; it is acknowledged and recorded
// like a result with an Outcome, and a revert or a rejection is held against
// the version.
TEST_F(RequestHandlerTest, BootReportsAreAcknowledgedAndRecorded) {
  const std::string topic = "mqota/BOARD_A/OTAImage/dev-1/0123456789abcdef";
  for (const auto& [outcome, refused, level] : std::vector<std::tuple<std::string, bool, LogLevel>>{
           {"confirmed", false, LogLevel::kInfo},
           {"reverted", true, LogLevel::kWarn},
           {"rejected", true, LogLevel::kWarn},
           {"interrupted", false, LogLevel::kWarn}}) {
    SCOPED_TRACE(outcome);
    json j = {{"Message", "Boot Report"},
              {"UniqueTopicName", topic},
              {"Version", "1.2.0"},
              {"Outcome", outcome}};
    if (outcome != "confirmed") j["Reason"] = "why";
    const Response r = Handle(j.dump());
    ASSERT_EQ(r.publish.size(), 1u) << r.log;
    EXPECT_EQ(r.publish[0].topic, topic);
    EXPECT_EQ(json::parse(r.publish[0].payload)["Message"], "Result Received");
    ASSERT_TRUE(r.report.has_value()) << r.log;
    EXPECT_EQ(r.report->device, "dev-1");
    EXPECT_EQ(r.report->outcome, outcome);
    EXPECT_EQ(r.report->refused, refused);
    EXPECT_EQ(r.level, level);
    EXPECT_NE(r.log.find("Boot Report for 1.2.0"), std::string::npos) << r.log;
  }
}

TEST_F(RequestHandlerTest, ResultsThatAreNotReportsRecordNothing) {
  const std::string mqota_topic = "mqota/BOARD_A/OTAImage/dev-1/0123456789abcdef";
  const std::vector<json> results = {
      // No Outcome: a reference device's result.
      {{"Message", "Failure"}, {"UniqueTopicName", mqota_topic}, {"Version", "1.2.0"}},
      {{"Message", "Success"}, {"UniqueTopicName", mqota_topic}, {"Version", "1.2.0"}},
      // A reference-style reply topic names no device.
      {{"Message", "Failure"},
       {"UniqueTopicName", "mqota/BOARD_A/OTAImage/4711"},
       {"Version", "1.2.0"},
       {"Outcome", "reverted"}},
      {{"Message", "Failure"},
       {"UniqueTopicName", "mqota/BOARD_A/subscriber/image610022697"},
       {"Version", "1.2.0"},
       {"Outcome", "reverted"}},
      // No valid Version: nothing to refuse.
      {{"Message", "Failure"}, {"UniqueTopicName", mqota_topic}, {"Outcome", "reverted"}},
      {{"Message", "Failure"},
       {"UniqueTopicName", mqota_topic},
       {"Version", "1.2"},
       {"Outcome", "reverted"}},
  };
  for (const json& j : results) {
    SCOPED_TRACE(j.dump());
    const Response r = Handle(j.dump());
    EXPECT_FALSE(r.report.has_value()) << r.log;
    ASSERT_EQ(r.publish.size(), 1u) << r.log;  // acknowledged all the same
    EXPECT_EQ(json::parse(r.publish[0].payload)["Message"], "Result Received");
  }
}

TEST_F(RequestHandlerTest, AVersionTheDeviceRefusedIsNotOfferedToItAgain) {
  catalog_.Add("BOARD_A", "a-1.0.5.bin", SignedImage({1, 0, 5, 0}, 8000), TrustingTestKey());
  const std::string dev1 = "mqota/BOARD_A/OTAImage/dev-1/0123456789abcdef";
  const std::string dev2 = "mqota/BOARD_A/OTAImage/dev-2/0123456789abcdef";
  std::vector<std::pair<std::string, std::string>> asked;
  std::set<std::string> refused_by_dev1 = {"1.2.0"};
  const RefusedLookup refused = [&](std::string_view device, const image::ImageVersion& v) {
    const std::string text =
        std::to_string(v.major) + "." + std::to_string(v.minor) + "." + std::to_string(v.revision);
    asked.emplace_back(device, text);
    return device == "dev-1" && refused_by_dev1.count(text) > 0;
  };
  auto offer = [&](const std::string& topic, const std::string& running) {
    const Response r =
        HandleRequest(kRequestTopic, Bytes(Request("Update Availability", running, topic)),
                      catalog_, lookup_, config_, refused);
    EXPECT_EQ(r.publish.size(), 1u) << r.log;
    if (r.publish.empty()) return std::make_pair(Response{}, json());
    EXPECT_EQ(r.publish[0].topic, topic);
    return std::make_pair(r, json::parse(r.publish[0].payload));
  };
  {
    // dev-1 reverted 1.2.0: it gets 1.1.0, the next newest newer one.
    const auto [r, job] = offer(dev1, "1.0.0");
    EXPECT_EQ(job["Message"], "Update Available");
    EXPECT_EQ(job["Version"], "1.1.0");
    ASSERT_NE(r.remember_offer, nullptr);
    EXPECT_EQ(r.remember_offer->ProtocolVersion(), "1.1.0");
    EXPECT_NE(r.log.find("not offering what it reverted or refused: 1.2.0"), std::string::npos)
        << r.log;
    EXPECT_EQ(asked.front(), (std::pair<std::string, std::string>{"dev-1", "1.2.0"}));
  }
  {
    // Another device still gets 1.2.0.
    const auto [r, job] = offer(dev2, "1.0.0");
    EXPECT_EQ(job["Version"], "1.2.0");
    EXPECT_EQ(r.log.find("not offering"), std::string::npos) << r.log;
  }
  {
    // dev-1 at 1.1.0: only 1.2.0 is newer, and it refused that.
    const auto [r, job] = offer(dev1, "1.1.0");
    EXPECT_EQ(job["Message"], "No Update Available");
    EXPECT_EQ(r.remember_offer, nullptr);
    EXPECT_TRUE(r.forget_offer);
    EXPECT_NE(r.log.find("1.2.0"), std::string::npos) << r.log;
  }
  {
    // Every newer one refused but the oldest.
    refused_by_dev1 = {"1.2.0", "1.1.0"};
    const auto [r, job] = offer(dev1, "1.0.0");
    EXPECT_EQ(job["Version"], "1.0.5");
  }
  // A reference-style topic names no device: nothing is asked, the newest is offered.
  asked.clear();
  refused_by_dev1 = {"1.2.0"};
  const auto [r, job] = offer("mqota/BOARD_A/OTAImage/4711", "1.0.0");
  EXPECT_EQ(job["Version"], "1.2.0");
  EXPECT_TRUE(asked.empty());
}

TEST_F(RequestHandlerTest, EmulatorRequestsWithItsOwnKeysWork) {
  const Response r = Handle(EmulatorAsks("mqota/BOARD_A/subscriber/image610022697").dump());
  ASSERT_EQ(r.publish.size(), 1u) << r.log;
  EXPECT_EQ(r.remember_offer, old_);
}

// subscriber.py -c 4096 (chunk mode) builds every "Request Data Chunk" from
// the whole job document it received, so it echoes mqota's job fields,
// "ChunkCrc" among them, then checks data_size against the payload length:
// a 4-byte CRC after the data made it refuse every chunk. Only a request's
// own "AcceptChunkCrc" turns the CRC on.
TEST_F(RequestHandlerTest, TheEmulatorsChunkModeGetsChunksFramedAsTheReferenceDoes) {
  const std::string topic = "mqota/BOARD_A/subscriber/image610022697";
  const Response offer = Handle(EmulatorAsks(topic).dump());
  ASSERT_EQ(offer.publish.size(), 1u) << offer.log;
  json request = json::parse(offer.publish[0].payload);
  ASSERT_EQ(request["ChunkCrc"], "crc32c");  // the offer the emulator will echo
  lookup_ = [&](std::string_view) { return offer.remember_offer; };
  request["Message"] = "Request Data Chunk";
  const uint32_t size = old_->size_bytes();
  std::vector<uint8_t> reassembled;
  for (uint32_t offset = 0; offset < size; offset += 4096) {
    request["Offset"] = std::to_string(offset);
    request["Size"] = "4096";
    const Response r = Handle(request.dump());
    ASSERT_EQ(r.publish.size(), 1u) << r.log;
    EXPECT_EQ(r.publish[0].topic, topic);
    const auto& payload = r.publish[0].payload;
    const auto chunk = agent::DecodeChunk(payload);
    ASSERT_TRUE(chunk.ok()) << agent::Describe(chunk.error());
    // The emulator's check: "Size in header" equals the payload after it.
    EXPECT_EQ(chunk->header.data_size, payload.size() - chunk->header.offset_to_data) << offset;
    EXPECT_EQ(r.log.find("CRC32C"), std::string::npos) << r.log;
    reassembled.insert(reassembled.end(), chunk->data.begin(), chunk->data.end());
  }
  EXPECT_TRUE(
      std::equal(reassembled.begin(), reassembled.end(), old_->data().begin(), old_->data().end()));
}

TEST_F(RequestHandlerTest, TheTopicsBoardCountsWhenBoardNameDisagrees) {
  // A 4.2.0 device always says BoardName "CY8CPROTO_062_4343W" (R19).
  const Response r = Handle(Request("Update Availability", "1.0.0", kDeviceTopic,
                                    {{"BoardName", "CY8CPROTO_062_4343W"}}));
  ASSERT_EQ(r.publish.size(), 1u);
  EXPECT_EQ(json::parse(r.publish[0].payload)["Board"], "BOARD_A");
  EXPECT_NE(r.log.find("differs"), std::string::npos);
}

TEST_F(RequestHandlerTest, RefusesToPublishOutsideTheDevicesSubtree) {
  for (const std::string& topic :
       std::vector<std::string>{"mqota/BOARD_B/OTAImage/1", "other/BOARD_A/OTAImage/1",
                                "mqota/BOARD_A/", "mqota/BOARD_A", "mqota/BOARD_A/publish_notify",
                                "mqota/BOARD_A/OTAImage", "mqota/BOARD_A/+/x", "mqota/BOARD_A/#",
                                std::string("mqota/BOARD_A/a\0b", 17), "mqota/BOARD_A/a\x01b",
                                "mqota/BOARD_Ax/1", "mqota/BOARD_A/" + std::string(300, 'x'), ""}) {
    SCOPED_TRACE(topic);
    ExpectIgnored(Handle(Request("Update Availability", "1.0.0", topic)));
    ExpectIgnored(Handle(Request("Request Update", "1.0.0", topic)));
  }
  ExpectIgnored(Handle(Request("Update Availability", "1.0.0", config_.flow_topic),
                       "mqota/mqota-server/publish_notify"));
}

TEST_F(RequestHandlerTest, SurvivesMalformedMessages) {
  const std::vector<std::string> payloads = {
      "",
      " ",
      "{",
      "{\"Message\": \"Update Availability\"",
      "[]",
      "\"Update Availability\"",
      "null",
      "{}",
      "{\"Message\": 5, \"UniqueTopicName\": \"mqota/BOARD_A/x\"}",
      "{\"UniqueTopicName\": \"mqota/BOARD_A/x\", \"Version\": \"1.0.0\"}",
      "{\"Message\": \"Update Availability\", \"Version\": \"1.0.0\"}",
      "{\"Message\": \"Update Availability\", \"UniqueTopicName\": 7, \"Version\": \"1.0.0\"}",
      "{\"Message\": \"Update Availability\", \"UniqueTopicName\": \"mqota/BOARD_A/x\"}",
      "{\"Message\": \"Update Availability\", \"UniqueTopicName\": \"mqota/BOARD_A/x\", "
      "\"Version\": \"1.0\"}",
      "{\"Message\": \"Update Availability\", \"UniqueTopicName\": \"mqota/BOARD_A/x\", "
      "\"Version\": \"a.b.c\"}",
      "{\"Message\": \"Launch Missiles\", \"UniqueTopicName\": \"mqota/BOARD_A/x\"}",
      "{\"Message\": \"Update Available\", \"UniqueTopicName\": \"mqota/BOARD_A/x\"}",
      "{\"Message\": \"Send Direct Update\", \"Version\": \"1.0.0\"}",
      "{\"Message\": \"Update Availability\xff\xfe\", \"UniqueTopicName\": \"mqota/BOARD_A/x\"}",
      std::string("{\"Message\": \"Succ") + '\0' +
          "ess\", \"UniqueTopicName\": \"mqota/BOARD_A/x\"}",
      std::string(5000, '{'),
      "{\"Message\": \"Success\", \"UniqueTopicName\": \"mqota/BOARD_A/x\"} trailing",
      "\xef\xbb\xbf{\"Message\": \"Success\"}",
  };
  for (const auto& payload : payloads) {
    SCOPED_TRACE(Printable(payload, 80));
    ExpectIgnored(Handle(payload));
  }
  // A message on a topic that is not a request topic.
  ExpectIgnored(Handle(Request("Update Availability"), "mqota/BOARD_A/elsewhere"));
  ExpectIgnored(Handle(Request("Update Availability"), "mqota/publish_notify"));
  ExpectIgnored(Handle(Request("Update Availability"), "mqota/a/b/publish_notify"));
}

TEST(JobDocument, TheLongestAcceptedTopicAndBoardStillFitADevice) {
  // 64-byte board, 256-byte topic of characters that JSON escapes: the worst
  // an accepted request can ask for must still be <= 1023 bytes
  // (docs/spec/reference-protocol.md#common-rules).
  const std::string board(64, '\\');
  Catalog catalog;
  catalog.Add(board, "worst", SignedImage({255, 255, 65535, 0}, 100), TrustingTestKey());
  const std::string prefix = "mqota/" + board + "/";
  const std::string topic = prefix + std::string(256 - prefix.size(), '"');
  const std::string job = JobDocument(*catalog.entries()[0], topic, 65535);
  EXPECT_FALSE(job.empty());
  EXPECT_LE(job.size(), agent::kMaxJsonDocumentBytes);
  EXPECT_EQ(json::parse(job)["UniqueTopicName"], topic);
}

TEST(Printable, EscapesEverythingThatCouldBreakALine) {
  EXPECT_EQ(Printable("ok/topic 1"), "ok/topic 1");
  EXPECT_EQ(Printable("a\nb\\c\xff"), "a\\x0ab\\x5cc\\xff");
  EXPECT_EQ(Printable(std::string(10, 'x'), 4), "xxxx...");
}

}  // namespace
}  // namespace mqota::server
