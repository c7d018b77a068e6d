// The stage the fleet's end-to-end tests play on: a real mosquitto, the real
// mqota-server binary (SQLite registry, HTTP API on a free loopback port)
// over a catalog of signed images, and what a test needs to drive a
// simulated fleet against it. Members a test adds (its FleetSim) are
// destroyed before these, so the devices stop before the server and broker.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "mqota/host/child_process.h"
#include "mqota/host/files.h"
#include "mqota/host/keys.h"
#include "mqota/host/signer.h"
#include "mqota/sim/fleet_sim.h"
#include "mqota/testing/broker.h"
#include "mqota/testing/files.h"
#include "mqota/testing/process.h"
#include "mqota/testing/random_bytes.h"

namespace mqota::testing {

inline constexpr char kFleetBoard[] = "MQOTA_VIRTUAL_BOARD";

class FleetStage : public ::testing::Test {
 protected:
  // The catalog holds a signed image of each of `versions`; the server is
  // started (unless `start_server` is false: the test runs its own), and
  // ready once its log shows `ready` (a line its listener prints).
  FleetStage(const std::vector<image::ImageVersion>& versions, std::string ready,
             bool start_server = true)
      : broker_(dir_ / "broker", {}),
        key_(host::Key::Load(VectorPath("ecdsa-p256-test-key.pem").string())),
        ready_(std::move(ready)) {
    std::filesystem::create_directories(dir_ / "catalog");
    for (const auto& v : versions) {
      WriteFileBytes(dir_ / "catalog" / ("app-" + sim::VersionText(v) + ".bin"), Image(v));
    }
    host::WriteFileAtomically((dir_ / "key.pem").string(), key_.PublicKeyPem(), 0644);
    api_port_ = FreeLoopbackPort();
    if (start_server) StartServer();
  }

  // Polls `done` every 200 ms until it holds or `timeout` passes.
  static bool WaitFor(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (done()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    return done();
  }

  // A signed 48 KiB image of `v`, its payload different for every version.
  std::vector<uint8_t> Image(image::ImageVersion v) const {
    host::SignOptions o;
    o.header_size = 0x400;
    o.pad_header = true;
    o.version = v;
    o.align = 8;
    o.slot_size = 0x40000;
    return host::BuildSignedImage(PseudoRandomBytes(size_t{48} * 1024, v.minor * 16 + v.revision),
                                  o, &key_);
  }

  // `devices` simulated devices at 1.0.0 that trust the catalog's key and
  // start updates only when nudged within a test's time (they poll once a
  // minute).
  sim::FleetOptions SimOptions(size_t devices) const {
    sim::FleetOptions o;
    o.devices = devices;
    o.board = kFleetBoard;
    o.initial_image = Image({1, 0, 0, 0});
    o.trusted_keys_der = {key_.PublicKeyDer()};
    o.trusted_key_types = {image::SignatureType::kEcdsaP256};
    o.broker_port = broker_.port();
    o.check_interval_ms = 60000;
    o.watchdog_ms = 1500;
    return o;
  }

  // (Re)starts mqota-server on the stage's registry (after a kill, say).
  void StartServer() {
    server_.emplace("mqota-server",
                    std::vector<std::string>{
                        BinPath("mqota-server"), "--db", (dir_ / "fleet.db").string(), "--port",
                        std::to_string(broker_.port()), "--board", kFleetBoard, "--catalog",
                        (dir_ / "catalog").string(), "--verify-key", (dir_ / "key.pem").string(),
                        "--api", "127.0.0.1:" + std::to_string(api_port_), "--log-level", "info"},
                    dir_ / "server.log");
    ASSERT_TRUE(WaitFor([&] { return ServerLog().find(ready_) != std::string::npos; },
                        std::chrono::seconds(10)))
        << ServerLog();
  }

  std::string ServerLog() const { return host::Tail(dir_ / "server.log", 40); }

  TempDir dir_;
  MosquittoBroker broker_;
  host::Key key_;
  std::string ready_;
  int api_port_ = 0;
  std::optional<host::ChildProcess> server_;
};

}  // namespace mqota::testing
