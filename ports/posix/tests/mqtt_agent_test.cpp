// The agent over a real mosquitto (docs/spec/reference-protocol.md#job-flow):
// MqttClient + MqttTransport +
// AgentRunner on the device side, and in the test a publisher that answers
// exactly like publisher.py (same job document, same 32-byte chunk headers,
// 4096-byte chunks in index order on the requester's UniqueTopicName).
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "mqota/agent/agent.h"
#include "mqota/agent/protocol.h"
#include "mqota/boot/trailer.h"
#include "mqota/host/keys.h"
#include "mqota/host/signer.h"
#include "mqota/ports/mbedtls/mbedtls_crypto.h"
#include "mqota/ports/posix/mqtt_client.h"
#include "mqota/ports/posix/mqtt_transport.h"
#include "mqota/testing/broker.h"
#include "mqota/testing/files.h"
#include "mqota/testing/random_bytes.h"
#include "mqota/testing/test_flash.h"

namespace mqota::posix {
namespace {

using namespace std::chrono_literals;
namespace mt = mqota::testing;

constexpr char kPrefix[] = "mqota";
constexpr char kBoard[] = "MQOTA_VIRTUAL_BOARD";
constexpr image::ImageVersion kNewVersion{1, 1, 0, 0};
constexpr uint32_t kSlotBytes = 32 * 4096;
constexpr boot::TrailerGeometry kTrailer{8, 8, 128};

std::string RequestTopic() { return std::string(kPrefix) + "/" + kBoard + "/publish_notify"; }

std::span<const uint8_t> Bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// A signed image of about `bytes` bytes, as `mqota sign` makes it.
std::vector<uint8_t> SignedImage(const host::Key& key, size_t bytes, uint32_t seed) {
  host::SignOptions o;
  o.header_size = 0x400;
  o.pad_header = true;
  o.version = kNewVersion;
  o.align = 8;
  o.slot_size = kSlotBytes;
  return host::BuildSignedImage(mt::PseudoRandomBytes(bytes, seed), o, &key);
}

// The chunks publisher.py makes of `image`
// (docs/spec/reference-protocol.md#how-the-publisher-cuts-an-image).
std::vector<std::vector<uint8_t>> Chunks(const std::vector<uint8_t>& image) {
  std::vector<std::vector<uint8_t>> chunks;
  const uint32_t n = static_cast<uint32_t>((image.size() + 4095) / 4096);
  for (uint32_t i = 0; i < n; ++i) {
    agent::ChunkHeader h;
    h.version_major = kNewVersion.major;
    h.version_minor = kNewVersion.minor;
    h.version_build = kNewVersion.revision;
    h.total_size = static_cast<uint32_t>(image.size());
    h.image_offset = i * 4096;
    h.data_size = static_cast<uint16_t>(std::min<size_t>(4096, image.size() - i * 4096));
    h.total_num_payloads = static_cast<uint16_t>(n);
    h.this_payload_index = static_cast<uint16_t>(i);
    std::vector<uint8_t> payload(agent::kChunkHeaderBytes);
    agent::EncodeChunkHeader(
        h, std::span<uint8_t, agent::kChunkHeaderBytes>(payload.data(), agent::kChunkHeaderBytes));
    payload.insert(payload.end(), image.begin() + h.image_offset,
                   image.begin() + h.image_offset + h.data_size);
    chunks.push_back(std::move(payload));
  }
  return chunks;
}

MqttOptions ClientOptions(const mt::MosquittoBroker& broker, mt::TestPki* pki,
                          const std::string& cn) {
  MqttOptions o;
  o.host = broker.host();
  o.port = broker.port();
  if (pki != nullptr) {
    o.tls_enabled = true;
    o.tls.ca_file = pki->ca_cert().string();
    const auto [cert, key] = pki->Client(cn);
    o.tls.cert_file = cert.string();
    o.tls.key_file = key.string();
  }
  return o;
}

// publisher.py's behaviour (docs/spec/reference-protocol.md#publisher-answers,
// docs/spec/reference-protocol.md#publisher-threads): "Update Availability" ->
// the job document on UniqueTopicName; "Request Update" -> a sender thread
// that publishes every chunk there, in order; "Success"/"Failure" -> "Result
// Received". Unlike publisher.py it sends through its main connection and
// survives what kills publisher.py: a sender whose publish fails (broker
// gone) ends that stream, and the subscription is renewed on reconnection.
class TestPublisher {
 public:
  TestPublisher(const MqttOptions& options, std::vector<uint8_t> image, int broker_port,
                std::chrono::milliseconds pace)
      : chunks_(Chunks(image)), broker_port_(broker_port), pace_(pace), client_(options) {
    client_.OnConnection([this](bool up) {
      if (up) client_.Subscribe(RequestTopic());
    });
    client_.OnMessage([this](const MqttMessage& m) { Handle(m); });
  }
  ~TestPublisher() {
    stop_ = true;
    std::vector<std::thread> senders;
    {
      std::lock_guard lock(mutex_);
      senders.swap(senders_);
    }
    for (auto& t : senders) t.join();
  }

  // Starts, and returns once subscribed (its own probe came back).
  bool Start() {
    if (!client_.Start() || !client_.WaitConnected(5s)) return false;
    for (int i = 0; i < 100 && probes_ == 0; ++i) {
      client_.Publish(RequestTopic(), Bytes("probe"));
      std::this_thread::sleep_for(50ms);
    }
    return probes_ > 0;
  }

  // publisher.py's ota_update.json, as it echoes it
  // (docs/spec/reference-protocol.md#job-document).
  std::string Job(const std::string& message, const std::string& topic) const {
    return R"({"Message": ")" + message +
           R"(", "Manufacturer": "Express Widgits Corporation", "ManufacturerId": "EWCO", )"
           R"("Product": "Easy Widgit", "SerialNumber": "ABC213450001", "Board": ")" +
           kBoard + R"(", "Version": "1.1.0", "Connection": "MQTT", "Broker": "", "Port": ")" +
           std::to_string(broker_port_) + R"(", "UniqueTopicName": ")" + topic + R"("})";
  }

  int update_requests() const { return update_requests_; }
  int aborted_streams() const { return aborted_streams_; }
  // Milliseconds from the first "Update Availability" to the first result.
  int64_t session_ms() const {
    std::lock_guard lock(mutex_);
    return session_ms_;
  }
  // The results received, once there are `n` (or after `timeout`).
  std::vector<nlohmann::json> WaitForResults(size_t n, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    result_arrived_.wait_for(lock, timeout, [&] { return results_.size() >= n; });
    return results_;
  }

 private:
  void Handle(const MqttMessage& m) {
    const std::string text(m.payload.begin(), m.payload.end());
    if (text == "probe") {
      ++probes_;
      return;
    }
    const auto json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (!json.is_object() || !json.contains("Message") || !json.contains("UniqueTopicName")) {
      return;  // publisher.py: "Malformed JSON document"
    }
    const std::string message = json["Message"].get<std::string>();
    const std::string topic = json["UniqueTopicName"].get<std::string>();
    if (message == agent::message::kUpdateAvailability) {
      if (first_request_ == std::chrono::steady_clock::time_point{}) {
        first_request_ = std::chrono::steady_clock::now();
      }
      client_.Publish(topic, Bytes(Job(std::string(agent::message::kUpdateAvailable), topic)));
    } else if (message == agent::message::kRequestUpdate) {
      ++update_requests_;
      std::lock_guard lock(mutex_);
      if (!stop_) senders_.emplace_back([this, topic] { Send(topic); });
    } else if (message == agent::message::kSuccess || message == agent::message::kFailure) {
      {
        std::lock_guard lock(mutex_);
        if (results_.empty()) {
          session_ms_ = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::steady_clock::now() - first_request_)
                            .count();
        }
        results_.push_back(json);
      }
      result_arrived_.notify_all();
      client_.Publish(topic, Bytes(Job(std::string(agent::message::kResultReceived), topic)));
    }
  }

  void Send(const std::string& topic) {
    for (const auto& chunk : chunks_) {
      if (stop_) return;
      if (!client_.Publish(topic, chunk)) {
        ++aborted_streams_;
        return;
      }
      if (pace_.count() > 0) std::this_thread::sleep_for(pace_);
    }
  }

  const std::vector<std::vector<uint8_t>> chunks_;
  const int broker_port_;
  const std::chrono::milliseconds pace_;
  std::atomic<bool> stop_{false};
  std::atomic<int> probes_{0};
  std::atomic<int> update_requests_{0};
  std::atomic<int> aborted_streams_{0};
  std::chrono::steady_clock::time_point first_request_{};  // network thread only
  mutable std::mutex mutex_;
  std::condition_variable result_arrived_;
  std::vector<std::thread> senders_;
  std::vector<nlohmann::json> results_;
  int64_t session_ms_ = 0;
  MqttClient client_;  // last: stopped first, before what its handlers use
};

// The device: NOR flash model with a secondary slot and a journal, the
// agent, and its POSIX plumbing.
class Device {
 public:
  Device(const MqttOptions& options, const host::Key& key, int broker_port)
      : runs_{{{34, 4096}}},
        chip_({runs_, 8, 0xff}),
        secondary_(chip_.model(), 0, kSlotBytes),
        journal_(chip_.model(), kSlotBytes, 2 * 4096),
        store_(secondary_, journal_, agent::DownloadLimits{kSlotBytes - kTrailer.trailer_bytes()},
               bitmap_),
        key_der_(key.PublicKeyDer()),
        trusted_{{image::SignatureType::kEcdsaP256, key_der_}},
        client_(options),
        transport_(client_),
        agent_(Config(broker_port), transport_, entropy_, store_, secondary_, kTrailer),
        runner_(agent_, client_) {}

  void Start() {
    runner_.Start();
    ASSERT_TRUE(client_.Start()) << client_.error();
  }
  MqttClient& client() { return client_; }
  AgentRunner& runner() { return runner_; }
  std::vector<uint8_t> SecondaryBytes(size_t n) {
    std::vector<uint8_t> bytes(n);
    EXPECT_TRUE(secondary_.Read(0, bytes).ok());
    return bytes;
  }
  boot::TrailerState SecondaryTrailer() { return *boot::Trailer(secondary_, kTrailer).Read(); }
  // Waits for the end of the download, whatever it is.
  agent::AgentStatus WaitForTheEnd(std::chrono::milliseconds timeout) {
    runner_.WaitFor(
        [](const agent::AgentStatus& s) {
          return s.state == agent::AgentState::kPending ||
                 (s.last_end != agent::SessionEnd::kNone &&
                  s.last_end != agent::SessionEnd::kStalled);
        },
        timeout);
    return runner_.status();
  }

 private:
  agent::AgentConfig Config(int broker_port) {
    agent::AgentConfig c;
    c.topic_prefix = kPrefix;
    c.identity.device_id = "dev-1";
    c.identity.board = kBoard;
    c.identity.serial_number = "SN1";
    c.running_version = {1, 0, 0, 0};
    c.trusted_keys = trusted_;
    c.crypto = &crypto_;
    c.broker_host = "127.0.0.1";
    c.broker_port = static_cast<uint16_t>(broker_port);
    c.job_timeout_ms = 5000;
    c.chunk_timeout_ms = 1500;  // ask again soon after a broker restart
    c.max_requests = 10;
    c.check_interval_ms = 1000;
    return c;
  }

  std::array<flash::SectorRun, 1> runs_;
  flash::testing::OwnedNorFlash chip_;
  flash::FlashArea secondary_;
  flash::FlashArea journal_;
  std::array<uint8_t, 64> bitmap_{};
  agent::DownloadStore store_;
  std::vector<uint8_t> key_der_;
  image::TrustedKey trusted_[1];
  ports::MbedtlsCrypto crypto_;
  MqttClient client_;
  MqttTransport transport_;
  RandomEntropy entropy_;
  agent::Agent agent_;
  AgentRunner runner_;  // last: stopped first
};

// One broker (plain or mutual TLS), a 100 KiB signed image, a publisher.
class AgentOverBroker : public ::testing::TestWithParam<bool> {
 protected:
  AgentOverBroker()
      : key_(host::Key::Load(mt::VectorPath("ecdsa-p256-test-key.pem").string())),
        image_(SignedImage(key_, 100 * 1024 - 0x400 - 200, 11)) {
    if (GetParam()) pki_ = std::make_unique<mt::TestPki>(dir_ / "pki");
    mt::BrokerOptions options;
    options.tls = GetParam();
    broker_ = std::make_unique<mt::MosquittoBroker>(dir_ / "broker", options, pki_.get());
  }
  MqttOptions Options(const std::string& cn) { return ClientOptions(*broker_, pki_.get(), cn); }
  std::unique_ptr<TestPublisher> MakePublisher(std::chrono::milliseconds pace) {
    return std::make_unique<TestPublisher>(Options("publisher"), image_, broker_->port(), pace);
  }
  void ExpectInstalled(Device& device, const agent::AgentStatus& status) {
    EXPECT_EQ(status.last_end, agent::SessionEnd::kInstalled) << agent::Describe(status.last_end);
    EXPECT_EQ(status.state, agent::AgentState::kPending);
    EXPECT_EQ(device.SecondaryBytes(image_.size()), image_);
    const auto trailer = device.SecondaryTrailer();
    EXPECT_EQ(trailer.magic, boot::MagicState::kGood);     // pending...
    EXPECT_EQ(trailer.image_ok, boot::FlagState::kUnset);  // ...as a test
  }
  const char* Mode() const { return GetParam() ? "mutual TLS" : "plain"; }

  mt::TempDir dir_;
  std::unique_ptr<mt::TestPki> pki_;
  std::unique_ptr<mt::MosquittoBroker> broker_;
  host::Key key_;
  std::vector<uint8_t> image_;
};

TEST_P(AgentOverBroker, DownloadsVerifiesAndInstalls) {
  ASSERT_EQ((image_.size() + 4095) / 4096, 25u);  // ~100 KiB: 25 reference chunks
  auto publisher = MakePublisher(0ms);
  ASSERT_TRUE(publisher->Start());
  Device device(Options("dev-1"), key_, broker_->port());
  device.Start();
  const auto status = device.WaitForTheEnd(20s);
  ExpectInstalled(device, status);
  EXPECT_EQ(status.bad_chunks, 0u);
  EXPECT_EQ(publisher->update_requests(), 1);
  const auto results = publisher->WaitForResults(1, 5s);  // sent just after kPending
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0]["Message"], "Success");
  EXPECT_EQ(results[0]["Version"], "1.1.0");
  std::cout << "[ measured ] " << image_.size() << "-byte image, " << Mode()
            << ": Update Availability -> Success in " << publisher->session_ms() << " ms\n";
  RecordProperty("session_ms", static_cast<int>(publisher->session_ms()));
}

TEST_P(AgentOverBroker, BrokerRestartMidDownloadResumesAndCompletes) {
  auto publisher = MakePublisher(30ms);  // ~0.75 s per stream: time to kill it
  ASSERT_TRUE(publisher->Start());
  Device device(Options("dev-1"), key_, broker_->port());
  device.Start();
  ASSERT_TRUE(device.runner().WaitFor(
      [](const agent::AgentStatus& s) { return s.granules_present >= 5; }, 10s));
  broker_->Kill();
  const uint32_t before = device.runner().status().granules_present;
  EXPECT_LT(before, 25u);
  std::this_thread::sleep_for(300ms);
  broker_->Restart();
  const auto status = device.WaitForTheEnd(20s);
  ExpectInstalled(device, status);
  // The agent asked again after the restart (its subscription renewed by
  // OnConnected), and nothing was written twice.
  EXPECT_GE(publisher->update_requests(), 2);
  EXPECT_EQ(status.bad_chunks, 0u);
  EXPECT_TRUE(device.client().connected());
}

TEST_P(AgentOverBroker, MessagesOnForeignTopicsAreIgnored) {
  auto publisher = MakePublisher(10ms);
  ASSERT_TRUE(publisher->Start());
  Device device(Options("dev-1"), key_, broker_->port());
  device.Start();
  ASSERT_TRUE(device.client().WaitConnected(5s)) << device.client().error();
  // Like the reference example app, the device also listens on the shared
  // direct topic; a stranger publishes a job and forged chunks there.
  const std::string direct = std::string(kPrefix) + "/" + kBoard + "/OTAImage";
  ASSERT_TRUE(device.client().Subscribe(direct));
  MqttClient stranger(Options("stranger"));
  ASSERT_TRUE(stranger.Start());
  ASSERT_TRUE(stranger.WaitConnected(5s)) << stranger.error();
  const auto forged = Chunks(SignedImage(host::Key::Generate(host::KeyType::kEcdsaP256), 20000, 3));
  std::atomic<bool> done{false};
  std::thread noise([&] {
    while (!done) {
      stranger.Publish(direct, Bytes(publisher->Job("Update Available", direct)));
      for (const auto& chunk : forged) stranger.Publish(direct, chunk);
      stranger.Publish(RequestTopic() + "/x", forged[0]);  // not subscribed: never arrives
      std::this_thread::sleep_for(20ms);
    }
  });
  const auto status = device.WaitForTheEnd(20s);
  done = true;
  noise.join();
  ExpectInstalled(device, status);
  EXPECT_GT(status.ignored_messages, 0u);
  EXPECT_EQ(status.bad_chunks, 0u);
  EXPECT_EQ(device.runner().dropped_messages(), 0u);
}

INSTANTIATE_TEST_SUITE_P(Broker, AgentOverBroker, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& p) {
                           return p.param ? "MutualTls" : "Plain";
                         });

}  // namespace
}  // namespace mqota::posix
