// mqota's own device (the real agent on a NOR flash model, over MqttClient)
// updates from mqota-server: the job document with mqota's extension fields,
// the chunk stream, verification, pending. Also across a broker restart in
// the middle of the stream.
#include <gtest/gtest.h>

#include "mqota/agent/agent.h"
#include "mqota/boot/trailer.h"
#include "mqota/ports/mbedtls/mbedtls_crypto.h"
#include "mqota/ports/posix/mqtt_transport.h"
#include "mqota/server/server.h"
#include "mqota/testing/broker.h"
#include "test_flash.h"
#include "test_images.h"

namespace mqota::server {
namespace {

using namespace std::chrono_literals;
namespace mt = mqota::testing;

constexpr char kBoard[] = "MQOTA_VIRTUAL_BOARD";
constexpr uint32_t kSlotBytes = 64 * 4096;
constexpr boot::TrailerGeometry kTrailer{8, 8, 128};

// The device: secondary slot and journal on a NOR model, the agent, and its
// POSIX plumbing, as the virtual board will run it.
class Device {
 public:
  Device(int broker_port, std::span<const image::TrustedKey> trusted)
      : runs_{{{66, 4096}}},
        chip_({runs_, 8, 0xff}),
        secondary_(chip_.model(), 0, kSlotBytes),
        journal_(chip_.model(), kSlotBytes, 2 * 4096),
        store_(secondary_, journal_, agent::DownloadLimits{kSlotBytes - kTrailer.trailer_bytes()},
               bitmap_),
        client_(Options(broker_port)),
        transport_(client_),
        agent_(Config(broker_port, trusted), transport_, entropy_, store_, secondary_, kTrailer),
        runner_(agent_, client_) {}

  ::testing::AssertionResult Start() {
    runner_.Start();
    if (!client_.Start()) return ::testing::AssertionFailure() << client_.error();
    return ::testing::AssertionSuccess();
  }
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
  std::vector<uint8_t> SecondaryBytes(size_t n) {
    std::vector<uint8_t> bytes(n);
    EXPECT_TRUE(secondary_.Read(0, bytes).ok());
    return bytes;
  }

 private:
  static posix::MqttOptions Options(int port) {
    posix::MqttOptions o;
    o.port = port;
    o.client_id = "dev-1";
    o.reconnect_delay_max = 500ms;
    return o;
  }
  agent::AgentConfig Config(int broker_port, std::span<const image::TrustedKey> trusted) {
    agent::AgentConfig c;
    c.topic_prefix = "mqota";
    c.identity.device_id = "dev-1";
    c.identity.board = kBoard;
    c.identity.serial_number = "SN1";
    c.running_version = {1, 0, 0, 0};
    c.trusted_keys = trusted;
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
  ports::MbedtlsCrypto crypto_;
  posix::MqttClient client_;
  posix::MqttTransport transport_;
  posix::RandomEntropy entropy_;
  agent::Agent agent_;
  posix::AgentRunner runner_;  // last: stopped first
};

class AgentUpdatesFromServer : public ::testing::Test {
 protected:
  AgentUpdatesFromServer()
      : broker_(dir_.path(), {}),
        key_der_(testing::TestKey().PublicKeyDer()),
        trusted_{{image::SignatureType::kEcdsaP256, key_der_}} {
    auto catalog = std::make_shared<Catalog>();
    catalog->Add(kBoard, "app-1.1.0.bin", testing::SignedImage({1, 1, 0, 0}, 200000),
                 testing::TrustingTestKey());
    catalog_ = catalog;
    ServerConfig config;
    config.mqtt.port = broker_.port();
    config.mqtt.client_id = "mqota-server-e2e";
    config.mqtt.reconnect_delay_max = 500ms;
    config.handler.job_port = static_cast<uint16_t>(broker_.port());
    server_ = std::make_unique<Server>(config, catalog_, log_);
    server_->Start(10s);
  }

  mt::TempDir dir_;
  mt::MosquittoBroker broker_;
  std::vector<uint8_t> key_der_;
  image::TrustedKey trusted_[1];
  Logger log_{LogLevel::kError, [](std::string_view) {}};
  std::shared_ptr<const Catalog> catalog_;
  std::unique_ptr<Server> server_;
};

TEST_F(AgentUpdatesFromServer, DownloadsVerifiesAndMarksPending) {
  Device device(broker_.port(), trusted_);
  ASSERT_TRUE(device.Start());
  const agent::AgentStatus status = device.WaitForTheEnd(15s);
  EXPECT_EQ(status.last_end, agent::SessionEnd::kInstalled) << agent::Describe(status.last_end);
  EXPECT_EQ(status.state, agent::AgentState::kPending);
  EXPECT_EQ(status.bad_chunks, 0u);
  EXPECT_EQ(status.offered, (image::ImageVersion{1, 1, 0, 0}));
  const auto& image = *catalog_->entries()[0]->bytes;
  EXPECT_EQ(device.SecondaryBytes(image.size()), image);
}

TEST_F(AgentUpdatesFromServer, SurvivesABrokerRestartMidStream) {
  Device device(broker_.port(), trusted_);
  ASSERT_TRUE(device.Start());
  // Kill the broker as soon as the stream has begun (or, on a fast machine,
  // just after it ended: the device then finishes without asking again).
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (server_->stream_stats().chunks_sent == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(1ms);
  }
  broker_.Kill();
  std::this_thread::sleep_for(300ms);
  broker_.Restart();
  const agent::AgentStatus status = device.WaitForTheEnd(20s);
  EXPECT_EQ(status.last_end, agent::SessionEnd::kInstalled) << agent::Describe(status.last_end);
  const auto& image = *catalog_->entries()[0]->bytes;
  EXPECT_EQ(device.SecondaryBytes(image.size()), image);
}

}  // namespace
}  // namespace mqota::server
