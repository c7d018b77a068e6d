// What the fleet's integration tests share: a real mosquitto, a catalog of
// signed images, a real mqota-server process serving it (started by pid,
// stopped by pid), and the options of a fleet pointed at them.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "mqota/host/child_process.h"
#include "mqota/host/keys.h"
#include "mqota/host/signer.h"
#include "mqota/sim/fleet_sim.h"
#include "mqota/testing/broker.h"
#include "mqota/testing/files.h"
#include "mqota/testing/process.h"
#include "mqota/testing/random_bytes.h"

namespace mqota::sim::testing {

namespace mt = mqota::testing;
using namespace std::chrono_literals;

inline constexpr char kBoard[] = "MQOTA_VIRTUAL_BOARD";

inline std::string KeyPath() { return mt::VectorPath("ecdsa-p256-test-key.pem").string(); }

inline const host::Key& TestKey() {
  static const host::Key key = host::Key::Load(KeyPath());
  return key;
}

// A signed image of `payload_bytes` pseudo-random bytes, seeded by the
// version (versions differ everywhere), header 0x400, 8-byte writes.
inline std::vector<uint8_t> SignedImage(image::ImageVersion version, size_t payload_bytes) {
  host::SignOptions o;
  o.header_size = 0x400;
  o.pad_header = true;
  o.version = version;
  o.align = 8;
  o.slot_size = static_cast<uint32_t>(payload_bytes + 0x10000);
  const uint32_t seed = version.major * 65536u + version.minor * 256u + version.revision;
  return host::BuildSignedImage(mt::PseudoRandomBytes(payload_bytes, seed), o, &TestKey());
}

// mqota-server as a process (offering the newest image, its registry in
// `dir`), its log in a file; stopped (SIGTERM, then
// SIGKILL) by its pid when this goes.
class ServerProcess {
 public:
  ServerProcess(const std::filesystem::path& dir, const std::filesystem::path& catalog, int port,
                const std::vector<std::string>& extra = {}) {
    std::vector<std::string> argv = {mt::BinPath("mqota-server"),
                                     "--catalog",
                                     catalog.string(),
                                     "--board",
                                     kBoard,
                                     "--port",
                                     std::to_string(port),
                                     "--verify-key",
                                     KeyPath(),
                                     "--client-id",
                                     "mqota-server",
                                     "--log-level",
                                     "info"};
    // The newest image to every device, no campaign: the sim's own tests.
    argv.insert(argv.end(),
                {"--offer-newest", "--db", (dir / "fleet.db").string(), "--api", "off"});
    argv.insert(argv.end(), extra.begin(), extra.end());
    process_ = std::make_unique<host::ChildProcess>("mqota-server", argv, dir / "server.log");
  }
  // Waits (bounded) for its "ready" line.
  ::testing::AssertionResult WaitReady(std::chrono::milliseconds timeout = 10s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (Log().find("ready:") != std::string::npos) return ::testing::AssertionSuccess();
      if (!process_->Running()) break;
      std::this_thread::sleep_for(20ms);
    }
    return ::testing::AssertionFailure() << "mqota-server did not get ready:\n" << Log();
  }
  std::string Log() const {
    std::ifstream in(process_->log());
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }

 private:
  std::unique_ptr<host::ChildProcess> process_;
};

// A broker, a catalog directory and the initial image: what every fleet
// test starts from.
class FleetTest : public ::testing::Test {
 protected:
  FleetTest() : broker_(dir_.path() / "broker", {}) {
    std::filesystem::create_directories(catalog());
  }

  std::filesystem::path catalog() const { return dir_.path() / "catalog"; }
  // Puts a signed image of `version` into the catalog; returns its bytes.
  std::vector<uint8_t> Publish(image::ImageVersion version, size_t payload_bytes) {
    auto bytes = SignedImage(version, payload_bytes);
    mt::WriteFileBytes(catalog() / ("app-" + VersionText(version) + ".bin"), bytes);
    return bytes;
  }
  void StartServer() {
    server_ = std::make_unique<ServerProcess>(dir_.path(), catalog(), broker_.port());
    ASSERT_TRUE(server_->WaitReady());
  }

  // A fleet at 1.0.0 (`payload_bytes` images) pointed at the broker.
  FleetOptions Options(size_t devices, size_t payload_bytes) {
    FleetOptions o;
    o.devices = devices;
    o.board = kBoard;
    o.initial_image = SignedImage({1, 0, 0, 0}, payload_bytes);
    o.max_image_bytes = static_cast<uint32_t>(payload_bytes + 0x1000);
    o.trusted_keys_der = {TestKey().PublicKeyDer()};
    o.trusted_key_types = {image::SignatureType::kEcdsaP256};
    o.broker_port = broker_.port();
    o.threads = 2;
    o.check_interval_ms = 2000;
    return o;
  }

  // Events, kept for the assertions.
  std::vector<SimEvent> EventsOf(const std::string& device, const std::string& name) {
    std::lock_guard lock(events_mutex_);
    std::vector<SimEvent> out;
    for (const auto& e : events_) {
      if (e.device == device && e.name == name) out.push_back(e);
    }
    return out;
  }
  EventLog& log() {
    log_.set_callback([this](const SimEvent& e) {
      std::lock_guard lock(events_mutex_);
      events_.push_back(e);
    });
    return log_;
  }

  mt::TempDir dir_;
  mt::MosquittoBroker broker_;
  std::unique_ptr<ServerProcess> server_;
  std::mutex events_mutex_;
  std::vector<SimEvent> events_;
  EventLog log_;
};

}  // namespace mqota::sim::testing
