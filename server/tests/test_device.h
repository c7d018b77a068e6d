// A device for integration tests, like the reference emulator (subscriber.py):
// one raw MqttClient subscribed to its unique topic, sending requests on
// "<prefix>/<board>/publish_notify" and collecting what arrives.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "mqota/agent/protocol.h"
#include "mqota/ports/posix/mqtt_client.h"

namespace mqota::server::testing {

using namespace std::chrono_literals;

class TestDevice {
 public:
  TestDevice(posix::MqttOptions options, std::string board, std::string unique_topic,
             std::string prefix = "mqota")
      : board_(std::move(board)),
        topic_(std::move(unique_topic)),
        request_topic_(prefix + "/" + board_ + "/" + std::string(agent::kRequestTopicLeaf)),
        client_(std::move(options)) {
    client_.OnMessage([this](const posix::MqttMessage& m) {
      std::lock_guard lock(mutex_);
      received_.push_back({m.payload.begin(), m.payload.end()});
      changed_.notify_all();
    });
  }

  // Connects, subscribes to the unique topic, and proves the subscription is
  // active by receiving its own probe (as a device must:
  // docs/spec/reference-protocol.md#compatibility-checklist).
  ::testing::AssertionResult Connect() {
    if (!client_.Start() || !client_.WaitConnected(10s)) {
      return ::testing::AssertionFailure() << client_.error();
    }
    client_.Subscribe(topic_);
    const std::string probe = "probe";
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (std::chrono::steady_clock::now() < deadline) {
      Publish(topic_, probe);
      std::unique_lock lock(mutex_);
      if (changed_.wait_for(lock, 100ms, [&] { return !received_.empty(); })) {
        received_.clear();
        return ::testing::AssertionSuccess();
      }
    }
    return ::testing::AssertionFailure() << "subscription never became active";
  }

  void Publish(const std::string& topic, const std::string& text) {
    client_.Publish(topic, {reinterpret_cast<const uint8_t*>(text.data()), text.size()});
  }
  void PublishBytes(const std::vector<uint8_t>& bytes) { client_.Publish(request_topic_, bytes); }

  // A request as a 4.2.0 device sends it
  // (docs/spec/reference-protocol.md#device-requests), plus `extra`.
  void Send(const std::string& message, const std::string& version,
            const nlohmann::json& extra = nlohmann::json::object()) {
    nlohmann::json j = {{"Message", message},
                        {"Manufacturer", "Express Widgits Corporation"},
                        {"ManufacturerID", "EWCO"},
                        {"ProductID", "Easy Widgit"},
                        {"SerialNumber", "ABC213450001"},
                        {"BoardName", board_},
                        {"Version", version},
                        {"UniqueTopicName", topic_}};
    j.update(extra);
    Publish(request_topic_, j.dump());
  }

  // The next JSON document received (chunks are skipped), or null on timeout.
  nlohmann::json WaitDocument(std::chrono::milliseconds timeout = 10s) {
    std::unique_lock lock(mutex_);
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
      for (; doc_cursor_ < received_.size(); ++doc_cursor_) {
        const auto& m = received_[doc_cursor_];
        if (!m.empty() && m[0] == '{') return nlohmann::json::parse(received_[doc_cursor_++]);
      }
      if (changed_.wait_until(lock, deadline) == std::cv_status::timeout) return nullptr;
    }
  }

  // Waits until `count` chunks arrived; returns the decoded headers and fills
  // `image` by image_offset (duplicates must carry the same bytes).
  std::vector<agent::ChunkHeader> WaitChunks(size_t count, std::vector<uint8_t>& image,
                                             std::chrono::milliseconds timeout = 15s) {
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, timeout, [&] { return ChunkCountLocked() >= count; });
    std::vector<agent::ChunkHeader> headers;
    for (const auto& m : received_) {
      const auto c = agent::DecodeChunk(m);
      if (!c.ok()) continue;
      headers.push_back(c->header);
      image.resize(c->header.total_size);
      std::copy(c->data.begin(), c->data.end(), image.begin() + c->header.image_offset);
    }
    return headers;
  }

  size_t received_count() {
    std::lock_guard lock(mutex_);
    return received_.size();
  }
  const std::string& topic() const { return topic_; }
  const std::string& request_topic() const { return request_topic_; }

 private:
  size_t ChunkCountLocked() const {
    size_t n = 0;
    for (const auto& m : received_) n += agent::DecodeChunk(m).ok() ? 1 : 0;
    return n;
  }

  std::string board_, topic_, request_topic_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::vector<uint8_t>> received_;
  size_t doc_cursor_ = 0;
  posix::MqttClient client_;  // last: its thread stops before the rest goes
};

}  // namespace mqota::server::testing
