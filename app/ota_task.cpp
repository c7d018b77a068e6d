#include "ota_task.h"

#include <array>
#include <chrono>
#include <cstdio>
#include <vector>

#include "console_lines.h"
#include "demo_config.h"
#include "mqota/agent/download_store.h"
#include "mqota/agent/job.h"
#include "mqota/board/layout.h"
#include "mqota/boot/app_api.h"
#include "mqota/flash/flash_area.h"
#include "mqota/image/digest.h"
#include "mqota/ports/mbedtls/mbedtls_crypto.h"
#include "mqota/ports/posix/file_flash.h"
#include "mqota/ports/posix/mqtt_transport.h"

namespace mqota::app {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// An image on trial that cannot reach the broker for this long resets, so
// the bootloader goes back to the image that could.
constexpr auto kTrialGrace = 60s;

std::string VersionText(const image::ImageVersion& v) {
  std::array<char, agent::kProtocolVersionTextBytes> text{};
  return std::string(agent::FormatProtocolVersion(v, text));
}

class Task final : public OtaTask {
 public:
  Task(const board::BoardFacts& facts, posix::FileFlash internal, posix::FileFlash external,
       const std::optional<boot::BootRecord>& record)
      : facts_(facts),
        internal_(std::move(internal)),
        external_(std::move(external)),
        record_(record),
        primary_(internal_, board::kPrimaryOffset, board::kSlotBytes),
        // The update goes where the bootloader takes it from (swap-offset:
        // one sector in); the trailer stays at the slot's end either way.
        secondary_(external_, board::kSecondaryOffset + facts.update_offset_bytes,
                   board::kSlotBytes - facts.update_offset_bytes),
        journal_(external_, board::kJournalOffset, board::kJournalBytes),
        running_digest_(StatedDigest(primary_)),
        store_(secondary_, journal_,
               agent::DownloadLimits{secondary_.size_bytes() - board::kTrailer.trailer_bytes()},
               bitmap_),
        trusted_{{image::SignatureType::kEcdsaP256, facts_.trusted_key_der}},
        patches_(primary_, secondary_, crypto_),
        client_(MqttOptions()),
        transport_(client_),
        agent_(AgentConfig(), transport_, entropy_, store_, secondary_, board::kTrailer),
        runner_(agent_, client_) {}

  bool Begin(std::string* error) {
    const bool on_trial = record_ && record_->swap == boot::SwapType::kTest && !record_->confirmed;
    if (record_) QueueBootReport(*record_, on_trial);
    runner_.Start();
    if (!client_.Start()) {
      *error = "MQTT: " + client_.error();
      return false;
    }
    started_ = Clock::now();
    trial_ = on_trial;
    if (trial_) {
      std::printf("ota: %s is on trial: confirming it once the broker is reached\n", kVersion);
    }
    return true;
  }

  bool ResetWanted() override {
    if (trial_) ConfirmIfHealthy();
    ShowProgress();
    ShowSessionEnd();
    if (runner_.status().state != agent::AgentState::kPending) return false;
    if (!announced_) {
      announced_ = true;
      const agent::AgentStatus& s = runner_.status();
      std::printf("ota: downloading %s: 100%% (%u of %u chunks)\n", VersionText(s.offered).c_str(),
                  s.granule_count, s.granule_count);
      if (s.patch && s.image_bytes != 0) {
        std::printf("ota: %s came as a patch of %u bytes, %.1f%% of the %u-byte image\n",
                    VersionText(s.offered).c_str(), s.patch_bytes,
                    100.0 * s.patch_bytes / s.image_bytes, s.image_bytes);
      }
      std::printf("ota: %s verified and pending; resetting into the bootloader\n",
                  VersionText(runner_.status().offered).c_str());
      reset_at_ = Clock::now() + 500ms;  // let the result reach the broker first
    }
    return Clock::now() >= reset_at_;
  }

  bool TrialFailed() override { return trial_ && Clock::now() - started_ > kTrialGrace; }

 private:
  posix::MqttOptions MqttOptions() const {
    posix::MqttOptions o;
    o.host = facts_.broker_host;
    o.port = facts_.broker_port;
    o.client_id = facts_.device_id;
    o.tls_enabled = facts_.tls;
    if (facts_.tls) o.tls = {facts_.ca_file, facts_.cert_file, facts_.key_file, ""};
    o.reconnect_delay_max = 2000ms;
    // Presence (docs/spec/mqota-protocol.md#presence): online while connected;
    // the broker says offline for it when the connection is lost.
    const std::string status = facts_.topic_prefix + "/" + facts_.board + "/" +
                               std::string(agent::kDeviceTopicPart) + "/" + facts_.device_id + "/" +
                               std::string(agent::kDeviceStatusLeaf);
    o.will = posix::MqttWill{status, std::string(agent::kStatusOffline), /*retain=*/true};
    o.will_on_stop = true;
    o.birth = posix::MqttWill{status, std::string(agent::kStatusOnline), /*retain=*/true};
    return o;
  }

  static std::optional<std::array<uint8_t, image::kSha256DigestBytes>> StatedDigest(
      const flash::FlashArea& primary) {
    image::FlashImageSource source(primary);
    auto digest = image::ReadStatedDigest(source);
    if (!digest.ok()) return std::nullopt;
    return *digest;
  }

  agent::AgentConfig AgentConfig() const {
    agent::AgentConfig c;
    c.topic_prefix = facts_.topic_prefix;
    c.identity.device_id = facts_.device_id;
    c.identity.board = facts_.board;
    c.identity.serial_number = facts_.serial_number;
    c.running_version = record_ ? record_->booted_version : image::ImageVersion{};
    if (running_digest_) c.running_image_digest = *running_digest_;
    c.trusted_keys = trusted_;
    c.crypto = &crypto_;
    c.patches = &patches_;
    c.broker_host = facts_.broker_host;
    c.broker_port = facts_.broker_port;
    c.check_interval_ms = facts_.check_interval_ms;
    c.chunk_timeout_ms = 5000;
    c.job_timeout_ms = 5000;
    return c;
  }

  // The boot record says what the bootloader did; the agent tells the server
  // at its next session. A confirmation waits for the health check.
  void QueueBootReport(const boot::BootRecord& r, bool on_trial) {
    if (r.swap == boot::SwapType::kRevert && r.previous_version &&
        facts_.reset_cause == board::kResetPowerOn) {
      std::printf(
          "ota: the power failed before %s was confirmed; the bootloader reverted it "
          "(not its fault: it will be tried again)\n",
          VersionText(*r.previous_version).c_str());
      agent_.ReportBoot({agent::BootReportKind::kInterrupted, *r.previous_version, ""});
    } else if (r.swap == boot::SwapType::kRevert && r.previous_version) {
      std::printf(
          "ota: the bootloader reverted %s (it was never confirmed, %s reset); "
          "reporting it\n",
          VersionText(*r.previous_version).c_str(), facts_.reset_cause.c_str());
      agent_.ReportBoot({agent::BootReportKind::kReverted, *r.previous_version, ""});
    } else if (r.rejected != boot::RejectReason::kNone &&
               r.rejected != boot::RejectReason::kNoImage) {
      std::printf("ota: the bootloader refused %s: %s\n", VersionText(r.rejected_version).c_str(),
                  boot::Describe(r.rejected));
      agent_.ReportBoot(
          {agent::BootReportKind::kRejected, r.rejected_version, boot::Describe(r.rejected)});
    } else if (r.swap == boot::SwapType::kPerm && !on_trial) {
      agent_.ReportBoot({agent::BootReportKind::kConfirmed, r.booted_version, ""});
    }
  }

  void ConfirmIfHealthy() {
    if (!client_.connected()) return;
    trial_ = false;
    const boot::Trailer trailer(primary_, board::kTrailer);
    if (!boot::SetConfirmed(trailer).ok()) {
      std::printf("ota: confirming %s failed (flash); it will be reverted\n", kVersion);
      return;
    }
    std::printf("ota: broker reached: %s confirmed\n", kVersion);
    const image::ImageVersion version = record_->booted_version;
    runner_.Post([version](agent::Agent& agent, uint64_t now_ms) {
      agent.ReportBoot({agent::BootReportKind::kConfirmed, version, ""});
      agent.CheckNow(now_ms);
    });
  }

  // One UART line per tenth of a download ("ota: downloading 1.1.0: 40%"),
  // which the demo turns into a progress bar.
  void ShowProgress() {
    const agent::AgentStatus s = runner_.status();
    if (s.state != agent::AgentState::kDownloading || s.granule_count == 0) {
      if (s.state != agent::AgentState::kDownloading) shown_tenths_ = -1;
      return;
    }
    const int tenths = static_cast<int>(10ull * s.granules_present / s.granule_count);
    if (tenths == shown_tenths_) return;
    shown_tenths_ = tenths;
    std::printf("ota: downloading %s: %d%% (%u of %u chunks%s)\n", VersionText(s.offered).c_str(),
                tenths * 10, s.granules_present, s.granule_count,
                s.granules_at_start ? ", resumed" : "");
  }

  // A session that ended without an install says why, in one line.
  void ShowSessionEnd() {
    const agent::AgentStatus s = runner_.status();
    if (s.sessions_ended == sessions_seen_) return;
    sessions_seen_ = s.sessions_ended;
    if (const auto line = SessionEndLine(s, facts_.board)) std::printf("%s\n", line->c_str());
  }

  const board::BoardFacts facts_;
  posix::FileFlash internal_, external_;
  const std::optional<boot::BootRecord> record_;
  const flash::FlashArea primary_, secondary_, journal_;
  // The running image's SHA256 TLV, told to the server; empty when unknown.
  const std::optional<std::array<uint8_t, image::kSha256DigestBytes>> running_digest_;
  std::array<uint8_t, 256> bitmap_{};
  agent::DownloadStore store_;
  const image::TrustedKey trusted_[1];
  mutable ports::MbedtlsCrypto crypto_;  // the agent hashes with it
  // Delta updates: the patch decoder (about 6 KiB), reading the running
  // image from the primary slot.
  mutable agent::DeltaPatchApplier patches_;
  posix::RandomEntropy entropy_;
  posix::MqttClient client_;
  posix::MqttTransport transport_;
  agent::Agent agent_;
  posix::AgentRunner runner_;
  Clock::time_point started_{};
  Clock::time_point reset_at_{};
  bool trial_ = false;
  bool announced_ = false;
  int shown_tenths_ = -1;
  uint32_t sessions_seen_ = 0;
};

}  // namespace

std::unique_ptr<OtaTask> OtaTask::Start(const board::BoardFacts& facts,
                                        const std::optional<boot::BootRecord>& record,
                                        std::string* error) {
  auto internal = posix::FileFlash::Open("/proc/self/fd/4", board::InternalFlashGeometry(),
                                         posix::FileFlashMode::kOpenExisting);
  auto external = posix::FileFlash::Open("/proc/self/fd/5", board::ExternalFlashGeometry(),
                                         posix::FileFlashMode::kOpenExisting);
  if (!internal.ok() || !external.ok()) {
    *error = "flash: " + posix::ToString(internal.ok() ? external.error() : internal.error());
    return nullptr;
  }
  auto task = std::make_unique<Task>(facts, std::move(*internal), std::move(*external), record);
  if (!task->Begin(error)) return nullptr;
  return task;
}

}  // namespace mqota::app
