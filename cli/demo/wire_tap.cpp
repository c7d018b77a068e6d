#include "demo/wire_tap.h"

#include <nlohmann/json.hpp>

#include "mqota/host/command_error.h"

namespace mqota::cli::demo {

WireTap::WireTap(const posix::MqttOptions& options, const std::string& prefix)
    : client_(std::make_unique<posix::MqttClient>(options)) {
  client_->OnMessage([this](const posix::MqttMessage& m) {
    WireMessage w;
    w.at = std::chrono::steady_clock::now();
    w.topic = std::string(m.topic);
    w.bytes = m.payload.size();
    if (!m.payload.empty() && m.payload[0] == '{') {
      const auto j = nlohmann::json::parse(m.payload.begin(), m.payload.end(), nullptr, false);
      if (j.is_object()) {
        w.json = true;
        auto text = [&](const char* key) {
          const auto it = j.find(key);
          return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
        };
        w.message = text("Message");
        w.version = text("Version");
        w.outcome = text("Outcome");
      }
    }
    std::lock_guard lock(mutex_);
    messages_.push_back(std::move(w));
  });
  const std::string filter = prefix + "/#";
  client_->OnConnection([this, filter](bool connected) {
    if (connected) client_->Subscribe(filter);
  });
  if (!client_->Start() || !client_->WaitConnected(std::chrono::seconds(10))) {
    throw host::CommandError(1, "the wire tap cannot reach the broker: " + client_->error());
  }
}

WireTap::~WireTap() { client_.reset(); }

std::vector<WireMessage> WireTap::Snapshot() const {
  std::lock_guard lock(mutex_);
  return messages_;
}

}  // namespace mqota::cli::demo
