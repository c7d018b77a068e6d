// The agent's test fixture: a NOR flash model with a secondary slot and a
// journal, a transport that records what is published, real signatures, and
// the messages publisher.py and mqota-server send
// (docs/spec/reference-protocol.md#job-flow). agent_test.cpp and
// device_topics_test.cpp use it.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "mqota/agent/agent.h"
#include "mqota/agent/protocol.h"
#include "mqota/base/crc32c.h"
#include "mqota/boot/app_api.h"
#include "mqota/host/keys.h"
#include "mqota/host/signer.h"
#include "mqota/ports/mbedtls/mbedtls_crypto.h"
#include "mqota/testing/files.h"
#include "mqota/testing/random_bytes.h"
#include "mqota/testing/test_flash.h"

namespace mqota::agent::fixture {

struct Message {
  std::string topic;
  std::string payload;
};

class FakeTransport final : public Transport {
 public:
  bool Subscribe(std::string_view topic) override {
    subscriptions.insert(std::string(topic));
    return true;
  }
  bool Unsubscribe(std::string_view topic) override {
    subscriptions.erase(std::string(topic));
    return true;
  }
  bool Publish(std::string_view topic, std::span<const uint8_t> payload) override {
    published.push_back({std::string(topic), std::string(payload.begin(), payload.end())});
    return true;
  }
  std::vector<nlohmann::json> MessagesOn(const std::string& topic) const {
    std::vector<nlohmann::json> out;
    for (const auto& m : published) {
      if (m.topic == topic) out.push_back(nlohmann::json::parse(m.payload));
    }
    return out;
  }
  std::set<std::string> subscriptions;
  std::vector<Message> published;
};

class CountingEntropy final : public Entropy {
 public:
  uint64_t Random64() override { return 0x9e3779b97f4a7c15ull * ++n; }
  uint64_t n = 0;
};

constexpr char kBoard[] = "MQOTA_VIRTUAL_BOARD";
constexpr char kRequestTopic[] = "mqota/MQOTA_VIRTUAL_BOARD/publish_notify";
// The device topics (docs/spec/mqota-protocol.md#device-topics) of "dev-1".
constexpr char kDeviceRequestTopic[] = "mqota/MQOTA_VIRTUAL_BOARD/device/dev-1/request";
constexpr char kNotifyTopic[] = "mqota/MQOTA_VIRTUAL_BOARD/device/dev-1/notify";
constexpr char kAnnounceTopic[] = "mqota/mqota-server/announce";
constexpr char kAnnouncement[] = R"({"Message": "mqota-server", "Version": "1"})";

class AgentTest : public ::testing::Test {
 protected:
  AgentTest()
      : runs_{{{34, 4096}}},
        chip_({runs_, 8, 0xff}),
        secondary_(chip_.model(), 0, 32 * 4096),
        journal_(chip_.model(), 32 * 4096, 2 * 4096),
        store_(secondary_, journal_, DownloadLimits{32 * 4096 - 3120}, bitmap_),
        key_(host::Key::Load(mqota::testing::VectorPath("ecdsa-p256-test-key.pem").string())),
        key_der_(key_.PublicKeyDer()),
        trusted_{{image::SignatureType::kEcdsaP256, key_der_}} {
    config_.topic_prefix = "mqota";
    config_.identity.device_id = "dev-1";
    config_.identity.board = kBoard;
    config_.identity.serial_number = "SN1";
    config_.running_version = {1, 0, 0, 0};
    config_.trusted_keys = trusted_;
    config_.crypto = &crypto_;
    config_.broker_host = "127.0.0.1";
    config_.broker_port = 8883;
    agent_ = std::make_unique<Agent>(config_, transport_, entropy_, store_, secondary_,
                                     boot::TrailerGeometry{8, 8, 128});
  }

  // A new agent with config_ as it is now (tests change it first).
  void Rebuild() {
    agent_ = std::make_unique<Agent>(config_, transport_, entropy_, store_, secondary_,
                                     boot::TrailerGeometry{8, 8, 128});
  }

  std::vector<uint8_t> SignedImage(image::ImageVersion v, size_t payload_bytes,
                                   const host::Key* key = nullptr) {
    host::SignOptions o;
    o.header_size = 0x400;
    o.pad_header = true;
    o.version = v;
    o.align = 8;
    o.slot_size = 32 * 4096;
    return host::BuildSignedImage(mqota::testing::PseudoRandomBytes(payload_bytes, v.minor), o,
                                  key ? key : &key_);
  }

  // The job document publisher.py sends (docs/spec/reference-protocol.md#job-document), for
  // `version`.
  static std::string Job(const std::string& version, const std::string& board = kBoard,
                         const std::string& broker = "", const std::string& port = "8883") {
    return R"({"Message": "Update Available", "Manufacturer": "Express Widgits Corporation", )"
           R"("ManufacturerId": "EWCO", "Product": "Easy Widgit", "SerialNumber": "ABC213450001", )"
           R"("Board": ")" +
           board + R"(", "Version": ")" + version + R"(", "Connection": "MQTT", "Broker": ")" +
           broker + R"(", "Port": ")" + port + R"(", "UniqueTopicName": "whatever"})";
  }

  // The chunks publisher.py makes of `image`
  // (docs/spec/reference-protocol.md#how-the-publisher-cuts-an-image).
  static std::vector<std::vector<uint8_t>> Chunks(const std::vector<uint8_t>& image,
                                                  image::ImageVersion v) {
    std::vector<std::vector<uint8_t>> chunks;
    const uint32_t n = static_cast<uint32_t>((image.size() + 4095) / 4096);
    for (uint32_t i = 0; i < n; ++i) {
      ChunkHeader h;
      h.version_major = v.major;
      h.version_minor = v.minor;
      h.version_build = v.revision;
      h.total_size = static_cast<uint32_t>(image.size());
      h.image_offset = i * 4096;
      h.data_size = static_cast<uint16_t>(std::min<size_t>(4096, image.size() - i * 4096));
      h.total_num_payloads = static_cast<uint16_t>(n);
      h.this_payload_index = static_cast<uint16_t>(i);
      std::vector<uint8_t> payload(kChunkHeaderBytes);
      EncodeChunkHeader(h,
                        std::span<uint8_t, kChunkHeaderBytes>(payload.data(), kChunkHeaderBytes));
      payload.insert(payload.end(), image.begin() + h.image_offset,
                     image.begin() + h.image_offset + h.data_size);
      chunks.push_back(payload);
    }
    return chunks;
  }

  void Deliver(const std::string& topic, const std::string& text) {
    agent_->OnMessage(topic, std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()),
                      now_);
  }
  void Deliver(const std::string& topic, const std::vector<uint8_t>& bytes) {
    agent_->OnMessage(topic, bytes, now_);
  }
  std::string Topic() const { return std::string(agent_->unique_topic()); }
  void Start() {
    agent_->OnTick(now_);
    ASSERT_EQ(agent_->status().state, AgentState::kAwaitingJob);
  }
  std::vector<nlohmann::json> Requests() const { return transport_.MessagesOn(kRequestTopic); }
  // What mqota-server and publisher.py answer to a result.
  void Ack() {
    Deliver(Topic(), R"({"Message": "Result Received", "UniqueTopicName": ")" + Topic() + R"("})");
  }
  boot::TrailerState SecondaryTrailer() {
    return *boot::Trailer(secondary_, boot::TrailerGeometry{8, 8, 128}).Read();
  }
  std::vector<uint8_t> SecondaryBytes(size_t n) {
    std::vector<uint8_t> bytes(n);
    EXPECT_TRUE(secondary_.Read(0, bytes).ok());
    return bytes;
  }

  std::array<flash::SectorRun, 1> runs_;
  flash::testing::OwnedNorFlash chip_;
  flash::FlashArea secondary_;
  flash::FlashArea journal_;
  std::array<uint8_t, 64> bitmap_{};
  DownloadStore store_;
  host::Key key_;
  std::vector<uint8_t> key_der_;
  image::TrustedKey trusted_[1];
  ports::MbedtlsCrypto crypto_;
  AgentConfig config_;
  FakeTransport transport_;
  CountingEntropy entropy_;
  std::unique_ptr<Agent> agent_;
  uint64_t now_ = 1000;
};

class PullTest : public AgentTest {
 protected:
  PullTest() : image_(SignedImage({1, 1, 0, 0}, 60000)) {}

  // mqota-server's job document: the reference fields plus the extensions.
  std::string PullJob(bool crc = true, const std::string& chunk_size = "4096") const {
    std::string job = Job("1.1.0");
    job.pop_back();  // '}'
    job += R"(, "ImageSize": ")" + std::to_string(image_.size()) + R"(", "ChunkSize": ")" +
           chunk_size + R"(")";
    if (crc) job += R"(, "ChunkCrc": "crc32c")";
    return job + "}";
  }

  // One chunk as request_handler.cpp cuts it: data = image[Offset, Offset +
  // Size), index = Offset / Size; with the CRC-32C after the data when the
  // request accepts it ("AcceptChunkCrc").
  std::vector<uint8_t> Answer(uint32_t offset, uint32_t size, bool crc) const {
    const uint32_t total = static_cast<uint32_t>(image_.size());
    ChunkHeader h;
    h.version_major = 1;
    h.version_minor = 1;
    h.total_size = total;
    h.image_offset = offset;
    h.data_size = static_cast<uint16_t>(std::min(size, total - offset));
    h.total_num_payloads = static_cast<uint16_t>((total + size - 1) / size);
    h.this_payload_index = static_cast<uint16_t>(offset / size);
    std::vector<uint8_t> payload(kChunkHeaderBytes);
    EncodeChunkHeader(h, std::span<uint8_t, kChunkHeaderBytes>(payload.data(), kChunkHeaderBytes));
    payload.insert(payload.end(), image_.begin() + offset, image_.begin() + offset + h.data_size);
    if (crc) {
      const uint32_t c =
          Crc32c(std::span(image_.data() + offset, h.data_size));  // independent of the agent's
      for (int i = 0; i < 4; ++i) payload.push_back(static_cast<uint8_t>(c >> (8 * i)));
    }
    return payload;
  }

  // Answers every request not yet answered (and those they trigger), unless
  // `drop` says to lose (or `corrupt` to damage) that answer. Returns the
  // most requests that were ever unanswered at once.
  size_t Serve(std::function<bool(uint32_t offset, int nth)> drop = nullptr,
               std::function<bool(uint32_t offset, int nth)> corrupt = nullptr,
               uint64_t answer_after_ms = 0) {
    size_t most_open = 0;
    while (served_ < transport_.published.size()) {
      size_t open = 0;
      for (size_t i = served_; i < transport_.published.size(); ++i) {
        open += transport_.published[i].payload.find("Request Data Chunk") != std::string::npos;
      }
      most_open = std::max(most_open, open);
      const Message m = transport_.published[served_++];
      if (m.topic != kRequestTopic && m.topic != kDeviceRequestTopic) continue;
      const auto j = nlohmann::json::parse(m.payload);
      if (j["Message"] != "Request Data Chunk") continue;
      const uint32_t offset = std::stoul(j["Offset"].get<std::string>());
      const uint32_t size = std::stoul(j["Size"].get<std::string>());
      const int nth = ++asked_[offset];
      sizes_.insert(size);
      crc_asked_ = j.contains("AcceptChunkCrc") && j["AcceptChunkCrc"] == "crc32c";
      if (drop && drop(offset, nth)) continue;
      auto chunk = Answer(offset, size, crc_asked_);
      if (corrupt && corrupt(offset, nth)) chunk[kChunkHeaderBytes + 7] ^= 0x01;
      now_ += answer_after_ms;
      Deliver(Topic(), chunk);
    }
    return most_open;
  }

  // Ticks until the agent is no longer downloading (at most `ticks`).
  void TickThroughTimeouts(int ticks = 100) {
    for (int i = 0; i < ticks && agent_->status().state == AgentState::kDownloading; ++i) {
      now_ = agent_->next_deadline_ms();
      agent_->OnTick(now_);
      Serve();
    }
  }

  int ChunkRequests() const {
    int n = 0;
    for (const auto& [offset, count] : asked_) n += count;
    return n;
  }
  uint32_t Granules() const { return static_cast<uint32_t>((image_.size() + 4095) / 4096); }

  void ExpectInstalled() {
    EXPECT_EQ(agent_->status().last_end, SessionEnd::kInstalled)
        << Describe(agent_->status().last_end);
    EXPECT_EQ(SecondaryBytes(image_.size()), image_);
    EXPECT_EQ(SecondaryTrailer().magic, boot::MagicState::kGood);
    // The last message on a request topic (the shared or the device's own).
    std::string last;
    for (const auto& m : transport_.published) {
      if (m.topic == kRequestTopic || m.topic == kDeviceRequestTopic) last = m.payload;
    }
    ASSERT_FALSE(last.empty());
    EXPECT_EQ(nlohmann::json::parse(last)["Message"], "Success");
    EXPECT_EQ(chip_->counters().refused, 0u);
  }

  std::vector<uint8_t> image_;
  size_t served_ = 0;
  std::map<uint32_t, int> asked_;  // offset -> requests for it
  std::set<uint32_t> sizes_;       // Size values asked for
  bool crc_asked_ = false;
};

}  // namespace mqota::agent::fixture
