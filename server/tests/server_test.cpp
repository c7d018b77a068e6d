// mqota-server in-process against a real mosquitto, with raw MQTT clients as
// devices: the job flow end to end, chunk requests, malformed input, mutual
// TLS, many devices at once.
#include "mqota/server/server.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <iostream>
#include <mutex>
#include <optional>

#include "mqota/fleet/sqlite_registry.h"
#include "mqota/testing/broker.h"
#include "reference_requests.h"
#include "test_device.h"
#include "test_images.h"

namespace mqota::server {
namespace {

using mqota::testing::MosquittoBroker;
using mqota::testing::TempDir;
using mqota::testing::TestPki;
using nlohmann::json;
using testing::EmulatorAsks;
using testing::SignedImage;
using testing::TestDevice;
using testing::TrustingTestKey;
using namespace std::chrono_literals;

class ServerTest : public ::testing::Test {
 protected:
  void StartServer(const MosquittoBroker& broker, posix::MqttOptions mqtt = {}) {
    auto catalog = std::make_shared<Catalog>();
    catalog->Add("BOARD_A", "a-1.1.0", SignedImage({1, 1, 0, 0}, 20000), TrustingTestKey());
    catalog->Add("BOARD_A", "a-1.2.0", SignedImage({1, 2, 0, 0}, image_bytes_), TrustingTestKey());
    catalog->Add("BOARD_B", "b-3.0.0", SignedImage({3, 0, 0, 0}, 30000), TrustingTestKey());
    catalog_ = catalog;
    ServerConfig config;
    config.mqtt = std::move(mqtt);
    config.mqtt.host = broker.host();
    config.mqtt.port = broker.port();
    config.mqtt.client_id = "mqota-server-test";
    config.handler.prefix = "mqota";
    config.handler.job_port = static_cast<uint16_t>(broker.port());
    config.workers = 4;
    config.offer_quiet = offer_quiet_;
    config.offer_newest = true;  // the protocol's tests: no campaigns
    config.share_group = share_group_;
    if (!registry_) registry_ = fleet::OpenSqliteRegistry(dir_ / "fleet.db");
    config_ = config;
    server_ = std::make_unique<Server>(config, catalog_, *registry_, log_);
    server_->Start(10s);
  }

  posix::MqttOptions DeviceOptions(const MosquittoBroker& broker) {
    posix::MqttOptions o;
    o.host = broker.host();
    o.port = broker.port();
    return o;
  }

  EntryPtr Newest(std::string_view board) const {
    return catalog_->NewestNewerThan(board, {0, 0, 0, 0});
  }

  // The job flow of one device: availability, job, request, every chunk.
  void RunJobFlow(TestDevice& device, const EntryPtr& expected) {
    device.Send("Update Availability", "1.0.0");
    const json job = device.WaitDocument();
    ASSERT_FALSE(job.is_null()) << "no job document";
    EXPECT_EQ(job["Message"], "Update Available");
    EXPECT_EQ(job["Version"], expected->ProtocolVersion());
    EXPECT_EQ(job["ImageSha256"], expected->Sha256Hex());
    device.Send("Request Update", "1.0.0");
    const uint32_t total = (expected->size_bytes() + 4095) / 4096;
    std::vector<uint8_t> image;
    const auto headers = device.WaitChunks(total, image);
    ASSERT_EQ(headers.size(), total);
    for (uint32_t i = 0; i < total; ++i) {
      ASSERT_EQ(headers[i].this_payload_index, i);  // in index order
      EXPECT_EQ(headers[i].version_major, expected->version.major);
      EXPECT_EQ(headers[i].version_minor, expected->version.minor);
      EXPECT_EQ(headers[i].version_build, expected->version.revision);
    }
    EXPECT_EQ(image, *expected->bytes);  // byte-exact
  }

  // The log lines containing `text`.
  std::vector<std::string> LinesWith(const std::string& text) {
    std::lock_guard lock(lines_mutex_);
    std::vector<std::string> found;
    for (const auto& line : lines_) {
      if (line.find(text) != std::string::npos) found.push_back(line);
    }
    return found;
  }

  TempDir dir_;
  size_t image_bytes_ = 200000;
  std::chrono::milliseconds offer_quiet_ = ServerConfig{}.offer_quiet;
  std::vector<std::string> lines_;
  std::mutex lines_mutex_;
  Logger log_{LogLevel::kDebug, [this](std::string_view line) {
                std::lock_guard lock(lines_mutex_);
                lines_.emplace_back(line);
              }};
  std::string share_group_;  // StartServer's --share-group
  ServerConfig config_;      // StartServer's last
  std::shared_ptr<const Catalog> catalog_;
  std::unique_ptr<fleet::SqliteRegistry> registry_;  // outlives the server
  std::unique_ptr<Server> server_;
};

TEST_F(ServerTest, JobDocumentThenEveryChunkByteExact) {
  MosquittoBroker broker(dir_.path(), {});
  StartServer(broker);
  TestDevice device(DeviceOptions(broker), "BOARD_A", "mqota/BOARD_A/OTAImage/dev-1/4711");
  ASSERT_TRUE(device.Connect());
  device.Send("Update Availability", "1.0.0");
  const json job = device.WaitDocument();
  ASSERT_FALSE(job.is_null());
  const EntryPtr newest = Newest("BOARD_A");
  for (const auto& [k, v] : job.items()) EXPECT_TRUE(v.is_string()) << k;
  EXPECT_EQ(job["Message"], "Update Available");
  EXPECT_EQ(job["Board"], "BOARD_A");
  EXPECT_EQ(job["Version"], "1.2.0");
  EXPECT_EQ(job["Connection"], "MQTT");
  EXPECT_EQ(job["Broker"], "");
  EXPECT_EQ(job["Port"], std::to_string(broker.port()));
  EXPECT_EQ(job["UniqueTopicName"], device.topic());
  EXPECT_EQ(job["ImageSize"], std::to_string(newest->size_bytes()));
  EXPECT_EQ(job["ChunkSize"], "4096");
  EXPECT_EQ(job["ImageSha256"], newest->Sha256Hex());

  // The reference device fetches the data on a new connection
  // (docs/spec/reference-protocol.md#job-flow).
  TestDevice data(DeviceOptions(broker), "BOARD_A", device.topic());
  ASSERT_TRUE(data.Connect());
  data.Send("Request Update", "1.0.0");
  const uint32_t total = (newest->size_bytes() + 4095) / 4096;
  std::vector<uint8_t> image;
  const auto headers = data.WaitChunks(total, image);
  ASSERT_EQ(headers.size(), total);
  for (uint32_t i = 0; i < total; ++i) {
    EXPECT_EQ(headers[i].this_payload_index, i);
    EXPECT_EQ(headers[i].total_num_payloads, total);
    EXPECT_EQ(headers[i].version_major, 1);
    EXPECT_EQ(headers[i].version_minor, 2);
  }
  EXPECT_EQ(image, *newest->bytes);

  data.Send("Success", "1.2.0");
  const json ack = data.WaitDocument();
  ASSERT_FALSE(ack.is_null());
  EXPECT_EQ(ack["Message"], "Result Received");
}

// The retained announcement as a subscriber that connects now reads it ("" when
// none).
std::string RetainedAnnouncement(const MosquittoBroker& broker) {
  posix::MqttOptions o;
  o.host = broker.host();
  o.port = broker.port();
  posix::MqttClient client(o);
  std::mutex mutex;
  std::condition_variable seen;
  std::optional<std::string> payload;
  client.OnMessage([&](const posix::MqttMessage& m) {
    std::lock_guard lock(mutex);
    payload.emplace(m.payload.begin(), m.payload.end());
    seen.notify_all();
  });
  if (!client.Start() || !client.WaitConnected(5s)) return "(no connection)";
  client.Subscribe(AnnounceTopic("mqota"));
  std::unique_lock lock(mutex);
  seen.wait_for(lock, 1s, [&] { return payload.has_value(); });
  return payload.value_or("");
}

// docs/spec/mqota-protocol.md#several-servers: two instances of a share
// group answer each request once between them, both take a share, the
// announcement names the group, and one instance stopping leaves it for the
// other, which goes on serving.
TEST_F(ServerTest, AShareGroupAnswersEachRequestOnceAndKeepsTheAnnouncement) {
  MosquittoBroker broker(dir_.path(), {});
  share_group_ = "g";
  StartServer(broker);
  std::vector<std::string> second_lines;
  std::mutex second_mutex;
  Logger second_log(LogLevel::kDebug, [&](std::string_view line) {
    std::lock_guard lock(second_mutex);
    second_lines.emplace_back(line);
  });
  ServerConfig config = config_;
  config.mqtt.client_id = "mqota-server-test-2";
  auto second = std::make_unique<Server>(config, catalog_, *registry_, second_log);
  second->Start(10s);
  EXPECT_EQ(RetainedAnnouncement(broker),
            R"({"Group":"g","Message":"mqota-server","Version":"1"})");

  constexpr int kAsks = 20;
  TestDevice device(DeviceOptions(broker), "BOARD_A", "mqota/BOARD_A/OTAImage/one/1");
  ASSERT_TRUE(device.Connect());
  for (int i = 0; i < kAsks; ++i) {
    device.Send("Update Availability", "1.0.0");
    const json job = device.WaitDocument();
    ASSERT_FALSE(job.is_null()) << "ask " << i;
    EXPECT_EQ(job["Version"], "1.2.0");
  }
  EXPECT_TRUE(device.WaitDocument(300ms).is_null()) << "an ask answered twice";
  const size_t first = LinesWith(": offering ").size();
  size_t by_second = 0;
  {
    std::lock_guard lock(second_mutex);
    for (const auto& line : second_lines)
      by_second += line.find(": offering ") != std::string::npos;
  }
  EXPECT_EQ(first + by_second, static_cast<size_t>(kAsks));
  EXPECT_GT(first, 0u);
  EXPECT_GT(by_second, 0u);

  // The first instance stops cleanly: the announcement stays, and the
  // second serves everything.
  server_->Stop(0ms);
  EXPECT_EQ(RetainedAnnouncement(broker),
            R"({"Group":"g","Message":"mqota-server","Version":"1"})");
  for (int i = 0; i < 4; ++i) {
    device.Send("Update Availability", "1.0.0");
    EXPECT_FALSE(device.WaitDocument().is_null()) << "ask " << i << " after the stop";
  }
  second->Stop(0ms);
  EXPECT_EQ(RetainedAnnouncement(broker),
            R"({"Group":"g","Message":"mqota-server","Version":"1"})");
}

TEST_F(ServerTest, NoUpdateForAnUpToDateDeviceAndForAnUnknownBoard) {
  MosquittoBroker broker(dir_.path(), {});
  StartServer(broker);
  TestDevice current(DeviceOptions(broker), "BOARD_A", "mqota/BOARD_A/OTAImage/cur/1");
  TestDevice stranger(DeviceOptions(broker), "BOARD_Q", "mqota/BOARD_Q/OTAImage/who/2");
  ASSERT_TRUE(current.Connect());
  ASSERT_TRUE(stranger.Connect());
  current.Send("Update Availability", "1.2.0");
  stranger.Send("Update Availability", "0.0.1");
  for (TestDevice* d : {&current, &stranger}) {
    const json doc = d->WaitDocument();
    ASSERT_FALSE(doc.is_null());
    EXPECT_EQ(doc["Message"], "No Update Available");
    EXPECT_EQ(doc["UniqueTopicName"], d->topic());
  }
}

TEST_F(ServerTest, EachDeviceGetsTheVersionItWasOffered) {
  // publisher.py would stamp every stream with the last job's version (R12).
  MosquittoBroker broker(dir_.path(), {});
  StartServer(broker);
  TestDevice a(DeviceOptions(broker), "BOARD_A", "mqota/BOARD_A/OTAImage/a/1");
  TestDevice b(DeviceOptions(broker), "BOARD_B", "mqota/BOARD_B/OTAImage/b/1");
  ASSERT_TRUE(a.Connect());
  ASSERT_TRUE(b.Connect());
  a.Send("Update Availability", "1.0.0");
  ASSERT_FALSE(a.WaitDocument().is_null());
  b.Send("Update Availability", "1.0.0");
  ASSERT_FALSE(b.WaitDocument().is_null());
  a.Send("Request Update", "1.0.0");
  std::vector<uint8_t> image;
  const auto headers = a.WaitChunks(1, image, 10s);
  ASSERT_FALSE(headers.empty());
  EXPECT_EQ(headers[0].version_major, 1);
  EXPECT_EQ(headers[0].version_minor, 2);
}

// A device's "reverted" report is recorded; that device is never offered the
// version again (others are), also after the catalog is replaced.
TEST_F(ServerTest, AVersionADeviceRevertedIsNotOfferedToItAgain) {
  MosquittoBroker broker(dir_.path(), {});
  StartServer(broker);
  TestDevice dev1(DeviceOptions(broker), "BOARD_A",
                  "mqota/BOARD_A/OTAImage/dev-1/0123456789abcdef");
  TestDevice dev2(DeviceOptions(broker), "BOARD_A",
                  "mqota/BOARD_A/OTAImage/dev-2/0123456789abcdef");
  ASSERT_TRUE(dev1.Connect());
  ASSERT_TRUE(dev2.Connect());
  auto offered = [](TestDevice& device, const std::string& running) {
    device.Send("Update Availability", running);
    const json doc = device.WaitDocument();
    return doc.is_null() ? std::string("(nothing)")
                         : doc.value("Version", doc["Message"].get<std::string>());
  };
  EXPECT_EQ(offered(dev1, "1.0.0"), "1.2.0");
  // As mqota's agent reports it after the bootloader went back to 1.0.0.
  dev1.Send("Failure", "1.2.0",
            {{"Outcome", "reverted"},
             {"Reason", "not confirmed after the update: the bootloader reverted it"}});
  const json ack = dev1.WaitDocument();
  ASSERT_FALSE(ack.is_null());
  EXPECT_EQ(ack["Message"], "Result Received");
  // Recorded after the answer: give the worker a moment (bounded).
  for (int i = 0; i < 100 && !registry_->Barred("dev-1", "1.2.0"); ++i) {
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_TRUE(registry_->Barred("dev-1", "1.2.0"));
  EXPECT_FALSE(registry_->Barred("dev-2", "1.2.0"));
  const auto record = registry_->FindDevice("dev-1");
  ASSERT_TRUE(record.has_value());
  EXPECT_EQ(record->state, "reverted");
  const auto history = registry_->History("dev-1", 1);
  ASSERT_EQ(history.size(), 1u);
  EXPECT_EQ(history[0].version, "1.2.0");
  EXPECT_EQ(history[0].reason, "not confirmed after the update: the bootloader reverted it");
  EXPECT_FALSE(history[0].verified);  // on the shared topic

  EXPECT_EQ(offered(dev1, "1.0.0"), "1.1.0");  // the next newest newer one
  EXPECT_EQ(offered(dev1, "1.1.0"), "No Update Available");
  EXPECT_EQ(offered(dev2, "1.0.0"), "1.2.0");

  // A new catalog (as SIGHUP loads) with 1.3.0: dev-1 gets that; the
  // registry outlives the catalog, so 1.2.0 stays refused.
  auto fresh = std::make_shared<Catalog>();
  fresh->Add("BOARD_A", "a-1.2.0", SignedImage({1, 2, 0, 0}, image_bytes_), TrustingTestKey());
  fresh->Add("BOARD_A", "a-1.3.0", SignedImage({1, 3, 0, 0}, 20000), TrustingTestKey());
  server_->ReplaceCatalog(fresh);
  EXPECT_EQ(offered(dev1, "1.0.0"), "1.3.0");
  EXPECT_EQ(offered(dev1, "1.2.5"), "1.3.0");
  EXPECT_EQ(offered(dev2, "1.0.0"), "1.3.0");
  dev1.Send("Failure", "1.3.0", {{"Outcome", "rejected"}, {"Reason", "bad signature"}});
  ASSERT_FALSE(dev1.WaitDocument().is_null());
  EXPECT_EQ(offered(dev1, "1.0.0"), "No Update Available");  // 1.2.0 and 1.3.0 refused
  EXPECT_EQ(offered(dev2, "1.1.0"), "1.3.0");

  // Another image under a released version is refused, and the catalog in
  // use stays: two different images of one version would be told apart by
  // no device.
  auto forged = std::make_shared<Catalog>();
  forged->Add("BOARD_A", "a-1.3.0", SignedImage({1, 3, 0, 0}, 30000), TrustingTestKey());
  try {
    server_->ReplaceCatalog(forged);
    ADD_FAILURE() << "a second image of 1.3.0 was taken";
  } catch (const ServerError& e) {
    EXPECT_NE(std::string(e.what()).find("already has an image of version 1.3.0"),
              std::string::npos)
        << e.what();
  }
  EXPECT_EQ(offered(dev2, "1.1.0"), "1.3.0");
}

// A reference device (<P>/<B>/OTAImage/<n>) and the emulator
// (<P>/<B>/subscriber/image<random>) asking through a broker whose ACL does
// not let them read their topic (docs/spec/reference-protocol.md#topics):
// mosquitto drops the job silently, they never ask again, and only the
// server can tell. Here nobody subscribes to those topics, which drops the
// jobs just as silently.
TEST_F(ServerTest, WarnsOnceWhenADeviceItAnsweredNeverAsksAgain) {
  offer_quiet_ = 300ms;
  MosquittoBroker broker(dir_.path(), {});
  StartServer(broker);
  // A device that follows its job up, first: its offer is the oldest, so
  // a warning for it could not come later than the others'.
  TestDevice follows(DeviceOptions(broker), "BOARD_A", "mqota/BOARD_A/OTAImage/4711");
  ASSERT_TRUE(follows.Connect());
  RunJobFlow(follows, Newest("BOARD_A"));
  // Requests whose answers nobody reads, from one connection.
  TestDevice asker(DeviceOptions(broker), "BOARD_A", "mqota/BOARD_A/OTAImage/asker/1");
  ASSERT_TRUE(asker.Connect());
  const std::string reference = "mqota/BOARD_A/OTAImage/1234";
  const std::string emulator = "mqota/BOARD_A/subscriber/image610022697";
  const std::string current = "mqota/BOARD_A/OTAImage/999";  // answered "no update"
  asker.Send("Update Availability", "1.0.0", {{"UniqueTopicName", reference}});
  asker.Publish(asker.request_topic(), EmulatorAsks(emulator).dump());
  asker.Send("Update Availability", "1.2.0", {{"UniqueTopicName", current}});

  const std::string warning = "the device never asked again";
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (LinesWith(warning).size() < 2 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);
  }
  ASSERT_EQ(LinesWith(warning).size(), 2u);
  // Asking after the warning is served, and warns no more.
  asker.Send("Request Update", "1.0.0", {{"UniqueTopicName", emulator}});
  // Long enough for another warning: the quiet time and a housekeeping tick,
  // twice over.
  std::this_thread::sleep_for(2 * (offer_quiet_ + 250ms));
  const auto warnings = LinesWith(warning);
  ASSERT_EQ(warnings.size(), 2u);
  for (const std::string& topic : {reference, emulator}) {  // one each, in either order
    const auto lines = LinesWith(topic + ": offered BOARD_A 1.2.0 ");
    ASSERT_EQ(lines.size(), 1u) << topic;
    EXPECT_NE(lines[0].find(" s ago and the device never asked again: did the answer reach it? "
                            "(a broker ACL that does not let the device read this topic drops "
                            "it silently; see mqota broker-config --reference-devices)"),
              std::string::npos)
        << lines[0];
  }
  EXPECT_EQ(LinesWith(emulator + ": sending BOARD_A 1.2.0").size(), 1u);
  EXPECT_TRUE(LinesWith(follows.topic() + ": offered").empty());
  EXPECT_TRUE(LinesWith(current + ": offered").empty());
}

TEST_F(ServerTest, ServesSingleChunkRequests) {
  MosquittoBroker broker(dir_.path(), {});
  StartServer(broker);
  TestDevice device(DeviceOptions(broker), "BOARD_A", "mqota/BOARD_A/OTAImage/dev-2/9");
  ASSERT_TRUE(device.Connect());
  device.Send("Update Availability", "1.0.0");
  ASSERT_FALSE(device.WaitDocument().is_null());
  const EntryPtr newest = Newest("BOARD_A");
  // R11: the reference agent's "-1" is refused (logged), the server goes on.
  device.Send("Request Data Chunk", "1.0.0", {{"Filename", ""}, {"Offset", "0"}, {"Size", "-1"}});
  device.Send("Request Data Chunk", "1.0.0",
              {{"Filename", ""}, {"Offset", "8192"}, {"Size", "4096"}});
  std::vector<uint8_t> image;
  const auto headers = device.WaitChunks(1, image);
  ASSERT_EQ(headers.size(), 1u);
  EXPECT_EQ(headers[0].image_offset, 8192u);
  EXPECT_EQ(headers[0].this_payload_index, 2u);
  EXPECT_EQ(headers[0].data_size, 4096u);
  EXPECT_TRUE(
      std::equal(image.begin() + 8192, image.begin() + 8192 + 4096, newest->bytes->begin() + 8192));
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(device.WaitChunks(1, image, 0ms).size(), 1u);  // nothing for "-1"
}

TEST_F(ServerTest, SurvivesFiftyMalformedMessagesThenServesNormally) {
  MosquittoBroker broker(dir_.path(), {});
  StartServer(broker);
  TestDevice device(DeviceOptions(broker), "BOARD_A", "mqota/BOARD_A/OTAImage/dev-3/1");
  ASSERT_TRUE(device.Connect());
  std::vector<std::vector<uint8_t>> bad;
  auto text = [&](const std::string& s) { bad.emplace_back(s.begin(), s.end()); };
  text("");
  text("{");
  text("not json at all");
  text("[1, 2, 3]");
  text("{}");
  text("{\"Message\": 1}");
  text("{\"UniqueTopicName\": \"mqota/BOARD_A/x\"}");
  text("{\"Message\": \"Update Availability\"}");
  text("{\"Message\": \"Update Availability\", \"UniqueTopicName\": \"mqota/BOARD_A/x\"}");
  text("{\"Message\": \"Gimme\", \"UniqueTopicName\": \"mqota/BOARD_A/x\"}");
  text("{\"Message\": \"Send Direct Update\"}");
  text(
      "{\"Message\": \"Update Availability\", \"Version\": \"1.0.0\", "
      "\"UniqueTopicName\": \"mqota/BOARD_B/stolen\"}");
  text(
      "{\"Message\": \"Update Availability\", \"Version\": \"1.0.0\", "
      "\"UniqueTopicName\": \"mqota/BOARD_A/publish_notify\"}");
  text(
      "{\"Message\": \"Request Update\", \"Version\": \"1.0.0\", "
      "\"UniqueTopicName\": \"mqota/BOARD_A/#\"}");
  text(
      "{\"Message\": \"Request Data Chunk\", \"Version\": \"1.0.0\", \"UniqueTopicName\": "
      "\"mqota/BOARD_A/y\", \"Offset\": \"99999999\", \"Size\": \"4096\"}");
  text("{\"Message\": \"Update Availability\xc3\x28\", \"Version\": \"1.0.0\"}");
  text(std::string(100000, 'x'));  // oversized
  text(std::string(3000, '['));
  while (bad.size() < 50) {  // random bytes
    std::vector<uint8_t> noise =
        mqota::testing::PseudoRandomBytes(10 + bad.size() * 7, static_cast<uint32_t>(bad.size()));
    bad.push_back(std::move(noise));
  }
  for (const auto& payload : bad) device.PublishBytes(payload);

  RunJobFlow(device, Newest("BOARD_A"));
  // One warning line each (a worker may still be writing the last one).
  auto ignored = [&] {
    std::lock_guard lock(lines_mutex_);
    size_t n = 0;
    for (const auto& line : lines_) {
      EXPECT_EQ(line.find('\n'), std::string::npos);
      n += line.find("ignored") != std::string::npos ? 1 : 0;
    }
    return n;
  };
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (ignored() < 50u && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(5ms);
  }
  EXPECT_EQ(ignored(), 50u);
}

TEST_F(ServerTest, WorksOverMutualTls) {
  TestPki pki(dir_ / "pki");
  mqota::testing::BrokerOptions options;
  options.tls = true;
  MosquittoBroker broker(dir_ / "broker", options, &pki);
  const auto [server_cert, server_key] = pki.Client("mqota-server");
  posix::MqttOptions tls;
  tls.tls_enabled = true;
  tls.tls = {pki.ca_cert().string(), server_cert.string(), server_key.string(), ""};
  StartServer(broker, tls);
  const auto [cert, key] = pki.Client("dev-tls");
  posix::MqttOptions device_options = DeviceOptions(broker);
  device_options.tls_enabled = true;
  device_options.tls = {pki.ca_cert().string(), cert.string(), key.string(), ""};
  TestDevice device(device_options, "BOARD_A", "mqota/BOARD_A/OTAImage/dev-tls/1");
  ASSERT_TRUE(device.Connect());
  RunJobFlow(device, Newest("BOARD_A"));
}

double MegabytesPerSecond(size_t bytes, std::chrono::steady_clock::duration elapsed) {
  return static_cast<double>(bytes) / 1e6 / std::chrono::duration<double>(elapsed).count();
}

TEST_F(ServerTest, StreamsOneMebibyteToTenDevicesAtOnce) {
  image_bytes_ = 1 << 20;
  MosquittoBroker broker(dir_.path(), {});
  StartServer(broker);
  const EntryPtr newest = Newest("BOARD_A");
  {  // One device first, for the single-stream rate.
    TestDevice solo(DeviceOptions(broker), "BOARD_A", "mqota/BOARD_A/OTAImage/solo/1");
    ASSERT_TRUE(solo.Connect());
    solo.Send("Update Availability", "1.0.0");
    ASSERT_FALSE(solo.WaitDocument().is_null());
    const auto start = std::chrono::steady_clock::now();
    solo.Send("Request Update", "1.0.0");
    std::vector<uint8_t> image;
    const uint32_t total = (newest->size_bytes() + 4095) / 4096;
    ASSERT_EQ(solo.WaitChunks(total, image).size(), total);
    const auto elapsed = std::chrono::steady_clock::now() - start;
    EXPECT_EQ(image, *newest->bytes);
    std::cout << "[ measure  ] 1 device: " << newest->size_bytes() << " bytes in "
              << std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count()
              << " ms = " << MegabytesPerSecond(newest->size_bytes(), elapsed) << " MB/s\n";
  }
  constexpr int kDevices = 10;
  std::vector<std::unique_ptr<TestDevice>> devices;
  for (int i = 0; i < kDevices; ++i) {
    devices.push_back(
        std::make_unique<TestDevice>(DeviceOptions(broker), "BOARD_A",
                                     "mqota/BOARD_A/OTAImage/fleet-" + std::to_string(i) + "/1"));
    ASSERT_TRUE(devices.back()->Connect());
    devices.back()->Send("Update Availability", "1.0.0");
  }
  for (auto& d : devices) ASSERT_FALSE(d->WaitDocument().is_null());
  const auto start = std::chrono::steady_clock::now();
  for (auto& d : devices) d->Send("Request Update", "1.0.0");
  const uint32_t total = (newest->size_bytes() + 4095) / 4096;
  for (auto& d : devices) {
    std::vector<uint8_t> image;
    ASSERT_EQ(d->WaitChunks(total, image).size(), total);
    EXPECT_EQ(image, *newest->bytes);
  }
  const auto elapsed = std::chrono::steady_clock::now() - start;
  std::cout << "[ measure  ] " << kDevices << " devices: " << kDevices * newest->size_bytes()
            << " bytes in "
            << std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count()
            << " ms = " << MegabytesPerSecond(kDevices * newest->size_bytes(), elapsed)
            << " MB/s\n";
  // A stream ends when its last flow marker is back, which may be just after
  // the device has its last chunk.
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (server_->stream_stats().streams_done < kDevices + 1u &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(5ms);
  }
  EXPECT_EQ(server_->stream_stats().streams_done, kDevices + 1u);
}

}  // namespace
}  // namespace mqota::server
