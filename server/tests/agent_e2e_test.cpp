// mqota's own device (the real agent on a NOR flash model, over MqttClient)
// updates from mqota-server: the job document with mqota's extension fields,
// then the download, verification, pending. The download is pulled (window
// of chunk requests, CRC32C per chunk) since the server's job carries
// ChunkSize; a device that declines pulls gets the push stream. Also across
// a broker restart, over mutual TLS, and with the device process SIGKILLed
// mid-download and started again on its flash files (it resumes).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>

#include "e2e_device.h"
#include "mqota/agent/agent.h"
#include "mqota/agent/protocol.h"
#include "mqota/boot/trailer.h"
#include "mqota/fleet/sqlite_registry.h"
#include "mqota/ports/mbedtls/mbedtls_crypto.h"
#include "mqota/ports/posix/file_flash.h"
#include "mqota/ports/posix/mqtt_transport.h"
#include "mqota/server/server.h"
#include "mqota/testing/broker.h"
#include "mqota/testing/process.h"
#include "mqota/testing/test_flash.h"
#include "test_images.h"

namespace mqota::server {
namespace {

using namespace std::chrono_literals;
namespace mt = mqota::testing;
using Clock = std::chrono::steady_clock;
using testing::E2eAgentConfig;
using testing::kE2eBoard;
using testing::kE2eTrailer;

constexpr char kBoard[] = "MQOTA_VIRTUAL_BOARD";
constexpr boot::TrailerGeometry kTrailer = kE2eTrailer;

posix::MqttOptions ClientOptions(int port, mt::TestPki* pki, const std::string& cn) {
  posix::MqttOptions o;
  o.port = port;
  o.client_id = cn;
  o.reconnect_delay_max = 500ms;
  if (pki != nullptr) {
    const auto [cert, key] = pki->Client(cn);
    o.tls_enabled = true;
    o.tls = {pki->ca_cert().string(), cert.string(), key.string(), ""};
  }
  return o;
}

// The device: secondary slot and journal on a NOR model, the agent, and its
// POSIX plumbing, as the virtual board will run it.
class Device {
 public:
  Device(int broker_port, std::span<const image::TrustedKey> trusted,
         const std::function<void(agent::AgentConfig&)>& tweak = nullptr,
         uint32_t slot_sectors = 64, mt::TestPki* pki = nullptr)
      : slot_bytes_(slot_sectors * 4096),
        runs_{{{slot_sectors + 2, 4096}}},
        chip_({runs_, 8, 0xff}),
        secondary_(chip_.model(), 0, slot_bytes_),
        journal_(chip_.model(), slot_bytes_, 2 * 4096),
        store_(secondary_, journal_, agent::DownloadLimits{slot_bytes_ - kTrailer.trailer_bytes()},
               bitmap_),
        client_(ClientOptions(broker_port, pki, "dev-1")),
        transport_(client_),
        agent_(Config(broker_port, trusted, tweak), transport_, entropy_, store_, secondary_,
               kTrailer),
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
  posix::AgentRunner& runner() { return runner_; }

 private:
  agent::AgentConfig Config(int broker_port, std::span<const image::TrustedKey> trusted,
                            const std::function<void(agent::AgentConfig&)>& tweak) {
    agent::AgentConfig c = E2eAgentConfig(broker_port, trusted, crypto_);
    if (tweak) tweak(c);
    return c;
  }

  uint32_t slot_bytes_;
  std::array<flash::SectorRun, 1> runs_;
  flash::testing::OwnedNorFlash chip_;
  flash::FlashArea secondary_;
  flash::FlashArea journal_;
  std::array<uint8_t, 64> bitmap_{};  // up to 512 granules
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
    config.offer_newest = true;
    registry_ = fleet::OpenSqliteRegistry(dir_ / "fleet.db");
    server_ = std::make_unique<Server>(config, catalog_, *registry_, log_);
    server_->Start(10s);
  }

  mt::TempDir dir_;
  mt::MosquittoBroker broker_;
  std::vector<uint8_t> key_der_;
  image::TrustedKey trusted_[1];
  Logger log_{LogLevel::kError, [](std::string_view) {}};
  std::shared_ptr<const Catalog> catalog_;
  std::unique_ptr<fleet::SqliteRegistry> registry_;  // outlives the server
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
  EXPECT_TRUE(status.pull);  // the server's job carries ChunkSize and ChunkCrc
  EXPECT_TRUE(status.crc);
  EXPECT_EQ(status.chunk_requests, status.granule_count + status.retries);
  const auto& image = *catalog_->entries()[0]->bytes;
  EXPECT_EQ(device.SecondaryBytes(image.size()), image);
  EXPECT_EQ(server_->stream_stats().chunks_sent, 0u);  // nothing pushed
}

// Kills the broker as soon as the download has begun (or, on a fast
// machine, just after it ended: the device then finishes without asking
// again), then restarts it: the device reconnects, resubscribes, and asks
// again for what it misses.
void KillBrokerMidDownload(mt::MosquittoBroker& broker, Device& device) {
  ASSERT_TRUE(device.runner().WaitFor(
      [](const agent::AgentStatus& s) { return s.granules_present > 0; }, 10s));
  broker.Kill();
  std::this_thread::sleep_for(300ms);
  broker.Restart();
}

TEST_F(AgentUpdatesFromServer, SurvivesABrokerRestartMidStream) {
  Device device(broker_.port(), trusted_, [](agent::AgentConfig& c) { c.window = 0; });  // push
  ASSERT_TRUE(device.Start());
  KillBrokerMidDownload(broker_, device);
  const agent::AgentStatus status = device.WaitForTheEnd(20s);
  EXPECT_EQ(status.last_end, agent::SessionEnd::kInstalled) << agent::Describe(status.last_end);
  EXPECT_FALSE(status.pull);
  const auto& image = *catalog_->entries()[0]->bytes;
  EXPECT_EQ(device.SecondaryBytes(image.size()), image);
}

TEST_F(AgentUpdatesFromServer, SurvivesABrokerRestartMidPull) {
  Device device(broker_.port(), trusted_, [](agent::AgentConfig& c) { c.window = 2; });
  ASSERT_TRUE(device.Start());
  KillBrokerMidDownload(broker_, device);
  const agent::AgentStatus status = device.WaitForTheEnd(20s);
  EXPECT_EQ(status.last_end, agent::SessionEnd::kInstalled) << agent::Describe(status.last_end);
  EXPECT_TRUE(status.pull);
  const auto& image = *catalog_->entries()[0]->bytes;
  EXPECT_EQ(device.SecondaryBytes(image.size()), image);
}

// Every request on "<prefix>/+/publish_notify" and the devices' own request
// topics, as the broker delivers it to a bystander: what the devices asked
// for, and when.
class WireMonitor {
 public:
  struct Seen {
    Clock::time_point at;
    std::string message;
    std::string topic;  // UniqueTopicName: one per session
    int64_t offset = -1;
  };

  explicit WireMonitor(posix::MqttOptions options) : client_(std::move(options)) {
    client_.OnMessage([this](const posix::MqttMessage& m) {
      const auto j = nlohmann::json::parse(m.payload.begin(), m.payload.end(), nullptr, false);
      if (!j.is_object() || !j.contains("Message") || !j["Message"].is_string()) return;
      Seen seen{Clock::now(), j["Message"], "", -1};
      if (j.contains("UniqueTopicName") && j["UniqueTopicName"].is_string()) {
        seen.topic = j["UniqueTopicName"];
      }
      if (j.contains("Offset") && j["Offset"].is_string()) {
        seen.offset = std::stoll(j["Offset"].get<std::string>());
      }
      std::lock_guard lock(mutex_);
      seen_.push_back(std::move(seen));
    });
  }

  // Returns once its subscription is proven by its own probe coming back.
  ::testing::AssertionResult Start() {
    if (!client_.Start() || !client_.WaitConnected(10s)) {
      return ::testing::AssertionFailure() << client_.error();
    }
    client_.Subscribe("mqota/+/device/+/request");
    client_.Subscribe("mqota/+/publish_notify");  // last: the probe proves both
    const std::string probe = R"({"Message": "monitor probe"})";
    const auto deadline = Clock::now() + 10s;
    while (Clock::now() < deadline) {
      client_.Publish("mqota/MONITOR/publish_notify",
                      {reinterpret_cast<const uint8_t*>(probe.data()), probe.size()});
      std::this_thread::sleep_for(50ms);
      if (Count("monitor probe") > 0) return ::testing::AssertionSuccess();
    }
    return ::testing::AssertionFailure() << "the monitor's subscription never became active";
  }

  std::vector<Seen> Snapshot() const {
    std::lock_guard lock(mutex_);
    return seen_;
  }
  size_t Count(const std::string& message, const std::string& topic = "") const {
    std::lock_guard lock(mutex_);
    return std::count_if(seen_.begin(), seen_.end(), [&](const Seen& s) {
      return s.message == message && (topic.empty() || s.topic == topic);
    });
  }
  // The session's download time: its first download request to its Success.
  std::optional<Clock::duration> DownloadTime() const {
    std::lock_guard lock(mutex_);
    std::optional<Clock::time_point> first;
    for (const auto& s : seen_) {
      if (!first && (s.message == agent::message::kRequestUpdate ||
                     s.message == agent::message::kRequestDataChunk)) {
        first = s.at;
      }
      if (first && s.message == agent::message::kSuccess) return s.at - *first;
    }
    return std::nullopt;
  }
  bool WaitFor(const std::function<bool()>& done, std::chrono::milliseconds timeout) const {
    const auto deadline = Clock::now() + timeout;
    while (!done()) {
      if (Clock::now() >= deadline) return false;
      std::this_thread::sleep_for(1ms);
    }
    return true;
  }
  void Clear() {
    std::lock_guard lock(mutex_);
    seen_.clear();
  }

 private:
  mutable std::mutex mutex_;
  std::vector<Seen> seen_;
  posix::MqttClient client_;  // last: stopped first
};

// A broker, plain or with mutual TLS, mqota-server and a monitor.
class PullOverBroker : public ::testing::TestWithParam<bool> {
 protected:
  PullOverBroker()
      : key_der_(testing::TestKey().PublicKeyDer()),
        trusted_{{image::SignatureType::kEcdsaP256, key_der_}} {
    if (GetParam()) pki_ = std::make_unique<mt::TestPki>(dir_ / "pki");
    mt::BrokerOptions options;
    options.tls = GetParam();
    broker_ = std::make_unique<mt::MosquittoBroker>(dir_ / "broker", options, pki_.get());
  }

  // The server, with one image of about `image_bytes` for the board.
  void StartServer(size_t image_bytes) {
    auto catalog = std::make_shared<Catalog>();
    catalog->Add(kBoard, "app-1.1.0.bin",
                 testing::SignedImage({1, 1, 0, 0}, image_bytes - 0x400 - 300),
                 testing::TrustingTestKey());
    catalog_ = catalog;
    image_ = catalog_->entries()[0]->bytes.get();
    ServerConfig config;
    config.mqtt = Options("mqota-server");
    config.handler.job_port = static_cast<uint16_t>(broker_->port());
    config.offer_newest = true;
    registry_ = fleet::OpenSqliteRegistry(dir_ / "fleet.db");
    server_ = std::make_unique<Server>(config, catalog_, *registry_, log_);
    server_->Start(10s);
    monitor_ = std::make_unique<WireMonitor>(Options("monitor"));
    ASSERT_TRUE(monitor_->Start());
  }
  posix::MqttOptions Options(const std::string& cn) {
    return ClientOptions(broker_->port(), pki_.get(), cn);
  }
  const char* Mode() const { return GetParam() ? "mutual TLS" : "plain"; }

  // One in-process device, run to its end; measured by the monitor.
  agent::AgentStatus RunDevice(const std::function<void(agent::AgentConfig&)>& tweak,
                               double* mb_per_s = nullptr) {
    monitor_->Clear();
    const uint32_t slot_sectors = static_cast<uint32_t>(image_->size() / 4096 + 4);
    Device device(broker_->port(), trusted_, tweak, slot_sectors, pki_.get());
    EXPECT_TRUE(device.Start());
    const agent::AgentStatus status = device.WaitForTheEnd(20s);
    EXPECT_EQ(status.last_end, agent::SessionEnd::kInstalled) << agent::Describe(status.last_end);
    EXPECT_EQ(device.SecondaryBytes(image_->size()), *image_);
    EXPECT_EQ(status.bad_chunks, 0u);
    monitor_->WaitFor([&] { return monitor_->DownloadTime().has_value(); }, 5s);
    if (const auto t = monitor_->DownloadTime(); t && mb_per_s) {
      *mb_per_s = static_cast<double>(image_->size()) /
                  std::chrono::duration<double, std::micro>(*t).count();
    }
    return status;
  }

  mt::TempDir dir_;
  std::unique_ptr<mt::TestPki> pki_;
  std::unique_ptr<mt::MosquittoBroker> broker_;
  std::vector<uint8_t> key_der_;
  image::TrustedKey trusted_[1];
  Logger log_{LogLevel::kError, [](std::string_view) {}};
  std::shared_ptr<const Catalog> catalog_;
  const std::vector<uint8_t>* image_ = nullptr;
  std::unique_ptr<fleet::SqliteRegistry> registry_;  // outlives the server
  std::unique_ptr<Server> server_;
  std::unique_ptr<WireMonitor> monitor_;
};

TEST_P(PullOverBroker, WindowsOfOneAndEightCompleteByteExact) {
  StartServer(300 * 1024);
  for (const uint32_t window : {1u, 8u}) {
    SCOPED_TRACE(window);
    const agent::AgentStatus status = RunDevice([&](agent::AgentConfig& c) { c.window = window; });
    EXPECT_TRUE(status.pull);
    EXPECT_TRUE(status.crc);
    EXPECT_EQ(status.crc_errors, 0u);
    EXPECT_EQ(status.granule_count, (image_->size() + 4095) / 4096);
    // Each granule asked for once (plus any re-request after a timeout).
    std::set<int64_t> offsets;
    size_t requests = 0;
    for (const auto& s : monitor_->Snapshot()) {
      if (s.message != agent::message::kRequestDataChunk) continue;
      ++requests;
      offsets.insert(s.offset);
    }
    EXPECT_EQ(offsets.size(), status.granule_count);
    EXPECT_EQ(requests, status.granule_count + status.retries);
    EXPECT_EQ(monitor_->Count(std::string(agent::message::kRequestUpdate)), 0u);
  }
  EXPECT_EQ(server_->stream_stats().chunks_sent, 0u);
}

// 1 MiB through the broker: push (the server's stream, window 8) against
// pull with windows of 1 and 8 (and 16 KiB chunks), from the first download
// request to the device's Success, as a bystander on the broker sees them.
TEST_P(PullOverBroker, MeasuresOneMebibyte) {
  StartServer(1024 * 1024);
  struct Variant {
    const char* name;
    uint32_t window;
    uint32_t chunk;
    bool crc = true;
  };
  for (const Variant& mode :
       {Variant{"push", 0, 4096}, Variant{"pull W=1", 1, 4096}, Variant{"pull W=8", 8, 4096},
        Variant{"pull W=8 no CRC", 8, 4096, false}, Variant{"pull W=8 16 KiB", 8, 16384}}) {
    std::vector<double> rates;
    for (int run = 0; run < 3; ++run) {
      double rate = 0;
      RunDevice(
          [&](agent::AgentConfig& c) {
            c.window = mode.window;
            c.preferred_chunk_bytes = mode.chunk;
            c.chunk_crc = mode.crc;
          },
          &rate);
      rates.push_back(rate);
    }
    std::sort(rates.begin(), rates.end());
    std::cout << "[ measured ] " << image_->size() << "-byte image, " << Mode() << ", " << mode.name
              << ": median " << rates[1] << " MB/s (" << rates[0] << ".." << rates[2] << ")\n";
    RecordProperty(std::string(mode.name) + " MB/s", std::to_string(rates[1]));
  }
}

// The device as its own process on file-backed flash: SIGKILLed in the
// middle of the download, started again on the same files. It fetches only
// what it misses: at most the granules never asked for, plus one sector's
// worth (a write the kill cut short) and the window (asked, not yet stored).
TEST_P(PullOverBroker, DeviceKilledMidDownloadResumesFetchingOnlyWhatIsMissing) {
  StartServer(400 * 1024);
  constexpr uint32_t kWindow = 8;
  const std::string flash = (dir_ / "device.flash").string();
  std::vector<std::string> args = {mt::BinPath("mqota_e2e_device"),
                                   "--port",
                                   std::to_string(broker_->port()),
                                   "--flash",
                                   flash,
                                   "--window",
                                   std::to_string(kWindow),
                                   "--write-delay-us",
                                   "1000",
                                   "--erase-delay-us",
                                   "8000",
                                   "--timeout-ms",
                                   "15000"};
  if (pki_) {
    const auto [cert, key] = pki_->Client("dev-1");
    args.insert(args.end(),
                {"--ca", pki_->ca_cert().string(), "--cert", cert.string(), "--key", key.string()});
  }
  const uint32_t granules = static_cast<uint32_t>((image_->size() + 4095) / 4096);
  const uint32_t granules_per_sector = 1;  // 4 KiB granules, 4 KiB sectors

  // First life: killed once it has asked for a third of the image.
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  const std::string first_log = (dir_ / "first.log").string();
  posix_spawn_file_actions_addopen(&actions, 1, first_log.c_str(), O_WRONLY | O_CREAT, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  pid_t pid = -1;
  ASSERT_EQ(posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ), 0);
  posix_spawn_file_actions_destroy(&actions);
  const bool reached = monitor_->WaitFor(
      [&] {
        return monitor_->Count(std::string(agent::message::kRequestDataChunk)) >= granules / 3;
      },
      15s);
  kill(pid, SIGKILL);
  int wait_status = 0;
  ASSERT_EQ(waitpid(pid, &wait_status, 0), pid);
  ASSERT_TRUE(reached) << std::ifstream(first_log).rdbuf();
  ASSERT_TRUE(WIFSIGNALED(wait_status));
  std::this_thread::sleep_for(300ms);  // what it published before dying arrives
  const auto first_life = monitor_->Snapshot();
  std::string first_topic;
  std::set<int64_t> asked_before;
  for (const auto& s : first_life) {
    if (s.message != agent::message::kRequestDataChunk) continue;
    first_topic = s.topic;
    asked_before.insert(s.offset);
  }
  ASSERT_EQ(monitor_->Count(std::string(agent::message::kSuccess)), 0u) << "killed too late";
  ASSERT_LT(asked_before.size(), granules);

  // Second life: resumes from the journal and completes.
  const auto second = mt::RunProcess(args, 20s);
  ASSERT_EQ(second.exit_code, 0) << second.out << second.err;
  const auto report = nlohmann::json::parse(second.out.substr(second.out.rfind('{')));
  size_t asked_after = 0;
  std::set<int64_t> distinct_after;
  for (const auto& s : monitor_->Snapshot()) {
    if (s.message != agent::message::kRequestDataChunk || s.topic == first_topic) continue;
    ++asked_after;
    distinct_after.insert(s.offset);
  }
  const uint32_t missing = granules - static_cast<uint32_t>(asked_before.size());
  const uint32_t bound = missing + granules_per_sector + kWindow;
  std::cout << "[ measured ] " << Mode() << ": " << granules << " granules, " << asked_before.size()
            << " asked before the kill, " << report["granules_at_start"] << " kept by the journal, "
            << asked_after << " asked after the restart (" << report["retries"]
            << " re-requests; bound " << bound << ")\n";
  EXPECT_TRUE(report["pull"].get<bool>());
  EXPECT_EQ(report["granule_count"], granules);
  EXPECT_EQ(asked_after, report["chunk_requests"].get<size_t>());
  EXPECT_LE(distinct_after.size(), bound);
  EXPECT_LE(asked_after - report["retries"].get<size_t>(), bound);
  EXPECT_GE(report["granules_at_start"].get<uint32_t>() + granules_per_sector + kWindow,
            asked_before.size());
  EXPECT_EQ(distinct_after.size() + report["granules_at_start"].get<size_t>(), granules);

  // The slot holds the image, pending as a test.
  const flash::FlashGeometry geometry{testing::kE2eDeviceRuns, 8, 0xff};
  auto chip = posix::FileFlash::Open(flash.c_str(), geometry, posix::FileFlashMode::kOpenExisting);
  ASSERT_TRUE(chip.ok());
  const flash::FlashArea slot(*chip, 0, testing::kE2eSlotBytes);
  std::vector<uint8_t> bytes(image_->size());
  ASSERT_TRUE(slot.Read(0, bytes).ok());
  EXPECT_EQ(bytes, *image_);
  EXPECT_EQ(boot::Trailer(slot, kTrailer).Read()->magic, boot::MagicState::kGood);
}

INSTANTIATE_TEST_SUITE_P(Broker, PullOverBroker, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& p) {
                           return p.param ? "MutualTls" : "Plain";
                         });

}  // namespace
}  // namespace mqota::server
