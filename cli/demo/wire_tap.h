// A listener on the broker with the server's rights: it records what devices
// and the server say (JSON documents by Message, Version and Outcome; chunks
// by topic and size), so the demo can show the revert report on the wire and
// prove that a blocklisted version is not downloaded again.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "mqota/ports/posix/mqtt_client.h"

namespace mqota::cli::demo {

struct WireMessage {
  std::chrono::steady_clock::time_point at;
  std::string topic;
  size_t bytes = 0;
  bool json = false;
  std::string message, version, outcome;  // when json
};

class WireTap {
 public:
  // Subscribes to "<prefix>/#". Throws CommandError when it cannot connect.
  WireTap(const posix::MqttOptions& options, const std::string& prefix);
  ~WireTap();
  std::vector<WireMessage> Snapshot() const;

 private:
  mutable std::mutex mutex_;
  std::vector<WireMessage> messages_;
  std::unique_ptr<posix::MqttClient> client_;
};

}  // namespace mqota::cli::demo
