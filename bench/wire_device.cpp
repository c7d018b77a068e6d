#include "wire_device.h"

#include <array>
#include <chrono>
#include <mutex>
#include <string_view>

#include "mqota/agent/agent.h"
#include "mqota/agent/protocol.h"
#include "mqota/flash/flash_area.h"
#include "mqota/flash/ram_flash.h"
#include "mqota/ports/mbedtls/mbedtls_crypto.h"
#include "mqota/ports/posix/mqtt_transport.h"
#include "wire_probe.h"

namespace mqota::bench {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr uint32_t kSectorBytes = 4096;
constexpr boot::TrailerGeometry kTrailer{8, 8, 128};  // as the e2e devices

// The agent's crypto with a stopwatch: the agent only uses it to validate the
// finished image, so its total is the verification time.
class TimedCrypto final : public image::CryptoBackend {
 public:
  void Sha256Start() override {
    Time([&] { inner_.Sha256Start(); });
  }
  void Sha256Update(std::span<const uint8_t> data) override {
    Time([&] { inner_.Sha256Update(data); });
  }
  void Sha256Finish(image::Sha256Digest digest) override {
    Time([&] { inner_.Sha256Finish(digest); });
  }
  image::SignatureCheck Verify(image::SignatureType type, std::span<const uint8_t> key,
                               image::ConstSha256Digest digest,
                               std::span<const uint8_t> signature) override {
    image::SignatureCheck check{};
    Time([&] { check = inner_.Verify(type, key, digest, signature); });
    return check;
  }
  double seconds() const { return std::chrono::duration<double>(spent_).count(); }

 private:
  template <typename F>
  void Time(F f) {
    const auto start = Clock::now();
    f();
    spent_ += Clock::now() - start;
  }
  ports::MbedtlsCrypto inner_;
  Clock::duration spent_{};
};

// The agent's transport with a stopwatch and a byte count: the session runs
// from its "Update Availability" to its "Success".
class CountingTransport final : public agent::Transport {
 public:
  explicit CountingTransport(posix::MqttClient& client) : inner_(client) {}
  bool Subscribe(std::string_view topic) override { return inner_.Subscribe(topic); }
  bool Unsubscribe(std::string_view topic) override { return inner_.Unsubscribe(topic); }
  bool Publish(std::string_view topic, std::span<const uint8_t> payload) override {
    const std::string_view text(reinterpret_cast<const char*>(payload.data()), payload.size());
    const auto now = Clock::now();
    {
      std::lock_guard lock(mutex_);
      if (text.find(agent::message::kUpdateAvailability) != std::string_view::npos) {
        start_ = now;
        start_bytes_ = ReadSocketBytes(fd_);
        start_usage_ = ReadProcessUsage();
      }
      if (text.find(agent::message::kSuccess) != std::string_view::npos) {
        end_ = now;
        end_bytes_ = ReadSocketBytes(fd_);
        end_usage_ = ReadProcessUsage();
      } else {
        ++publishes_;
        publish_bytes_ += topic.size() + payload.size();
        times_.push_back(std::chrono::duration<double>(now - start_).count());
      }
    }
    return inner_.Publish(topic, payload);
  }

  void set_socket(int fd) {
    std::lock_guard lock(mutex_);
    fd_ = fd;
  }
  void Report(DeviceRunResult& r) {
    std::lock_guard lock(mutex_);
    r.seconds = std::chrono::duration<double>(end_ - start_).count();
    r.wire_bytes = fd_ < 0 ? 0 : end_bytes_.total() - start_bytes_.total();
    r.usage = end_usage_ - start_usage_;
    r.publishes = publishes_;
    r.publish_bytes = publish_bytes_;
    r.request_times = times_;
  }

 private:
  posix::MqttTransport inner_;
  std::mutex mutex_;  // Publish runs on the agent's thread, Report on the caller's
  int fd_ = -1;
  Clock::time_point start_, end_;
  SocketBytes start_bytes_, end_bytes_;
  ProcessUsage start_usage_, end_usage_;
  uint32_t publishes_ = 0;
  uint64_t publish_bytes_ = 0;
  std::vector<double> times_;
};

posix::MqttOptions ClientOptions(const DeviceRunOptions& o) {
  posix::MqttOptions m;
  m.port = o.port;
  m.client_id = "dev-1";
  m.reconnect_delay_max = 500ms;
  if (o.tls != nullptr) {
    m.tls_enabled = true;
    m.tls = *o.tls;
  }
  return m;
}

// The device: slot and journal on one RAM chip, the agent and its plumbing,
// as server/tests/agent_e2e_test.cpp runs it (there on a NOR model).
class Device {
 public:
  explicit Device(const DeviceRunOptions& o)
      : slot_bytes_(static_cast<uint32_t>(o.image_bytes / kSectorBytes + 4) * kSectorBytes),
        runs_{{{slot_bytes_ / kSectorBytes + 2, kSectorBytes}}},
        storage_(slot_bytes_ + 2 * kSectorBytes),
        chip_({runs_, 8, 0xff}, storage_),
        secondary_(chip_, 0, slot_bytes_),
        journal_(chip_, slot_bytes_, 2 * kSectorBytes),
        store_(secondary_, journal_, agent::DownloadLimits{slot_bytes_ - kTrailer.trailer_bytes()},
               bitmap_),
        client_(ClientOptions(o)),
        transport_(client_),
        agent_(Config(o), transport_, entropy_, store_, secondary_, kTrailer),
        runner_(agent_, client_) {}

  posix::MqttClient& client() { return client_; }
  CountingTransport& transport() { return transport_; }
  TimedCrypto& crypto() { return crypto_; }
  posix::AgentRunner& runner() { return runner_; }

 private:
  agent::AgentConfig Config(const DeviceRunOptions& o) {
    agent::AgentConfig c;
    c.topic_prefix = o.prefix;
    c.identity.device_id = "dev-1";
    c.identity.board = kBenchBoard;
    c.identity.serial_number = "SN1";
    c.running_version = {1, 0, 0, 0};
    c.trusted_keys = o.trusted;
    c.crypto = &crypto_;
    c.broker_host = "127.0.0.1";
    c.broker_port = static_cast<uint16_t>(o.port);
    c.first_check_delay_ms = 24 * 3600 * 1000;  // the session starts with CheckNow
    c.job_timeout_ms = 5000;
    c.chunk_timeout_ms = 1500;
    c.max_requests = 10;
    c.max_retries = 64;
    c.window = o.window;
    c.preferred_chunk_bytes = kSectorBytes;
    return c;
  }

  uint32_t slot_bytes_;
  std::array<flash::SectorRun, 1> runs_;
  std::vector<uint8_t> storage_;
  flash::RamFlash chip_;
  flash::FlashArea secondary_;
  flash::FlashArea journal_;
  std::array<uint8_t, 64> bitmap_{};  // up to 512 granules
  agent::DownloadStore store_;
  TimedCrypto crypto_;
  posix::MqttClient client_;
  CountingTransport transport_;
  posix::RandomEntropy entropy_;
  agent::Agent agent_;
  posix::AgentRunner runner_;  // last: stopped first
};

}  // namespace

DeviceRunResult RunDevice(const DeviceRunOptions& options) {
  DeviceRunResult result;
  Device device(options);
  const std::set<int> before = SocketsToPort(options.port);
  device.runner().Start();
  if (!device.client().Start() || !device.client().WaitConnected(10s)) {
    result.error = "the device could not connect: " + device.client().error();
    return result;
  }
  // The socket that appeared is the device's: its bytes are the wire's.
  int fd = -1;
  for (int s : SocketsToPort(options.port)) {
    if (!before.contains(s)) fd = s;
  }
  device.transport().set_socket(fd);
  result.tls_version = device.client().tls_version();
  device.runner().Post([](agent::Agent& a, uint64_t now_ms) { a.CheckNow(now_ms); });
  device.runner().WaitFor(
      [](const agent::AgentStatus& s) {
        return s.state == agent::AgentState::kPending ||
               (s.last_end != agent::SessionEnd::kNone &&
                s.last_end != agent::SessionEnd::kStalled);
      },
      20s);
  const agent::AgentStatus status = device.runner().status();
  if (status.state != agent::AgentState::kPending) {
    result.error = std::string("the update did not complete: ") + agent::Describe(status.last_end);
    return result;
  }
  device.transport().Report(result);
  result.verify_seconds = device.crypto().seconds();
  result.pull = status.pull;
  result.crc = status.crc;
  result.granules = status.granule_count;
  result.retries = status.retries;
  result.ok = true;
  return result;
}

}  // namespace mqota::bench
