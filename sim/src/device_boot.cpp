// A simulated device's power, bootloader and resets (sim_device.h).
#include <algorithm>
#include <string_view>

#include "mqota/boot/app_api.h"
#include "mqota/boot/bootloader.h"
#include "mqota/image/digest.h"
#include "sim_device.h"

namespace mqota::sim {
namespace {

const char* SwapName(boot::SwapType swap) {
  switch (swap) {
    case boot::SwapType::kNone: return "none";
    case boot::SwapType::kTest: return "test";
    case boot::SwapType::kPerm: return "perm";
    case boot::SwapType::kRevert: return "revert";
    case boot::SwapType::kFail: return "fail";
  }
  return "?";
}

}  // namespace

boot::SwapAlgorithm* SimDevice::Algorithm() {
  switch (fleet_.options.swap) {
    case SwapKind::kScratch: return &swap_scratch_;
    case SwapKind::kMove: return &swap_move_;
    case SwapKind::kOverwrite: return &overwrite_;
  }
  return nullptr;
}

bool SimDevice::SwapRequested() {
  const boot::Trailer primary(flash_.primary(), fleet_.layout.trailer());
  const boot::Trailer secondary(flash_.secondary(), fleet_.layout.trailer());
  const auto state = boot::ReadSwapState(primary, secondary);
  return state.ok() &&
         (state->next_boot == boot::SwapType::kTest || state->next_boot == boot::SwapType::kPerm);
}

// The cut falls on one of the swap's first writes and erases: every
// algorithm makes at least two per image sector (the image is about the
// initial one's size), so it lands inside the swap.
void SimDevice::ArmSwapCut() {
  swap_cut_armed_ = true;
  SplitMix64 random(faults_.seed ^ 0x73776170);
  const uint64_t image_sectors =
      fleet_.options.initial_image.size() / FlashLayout::kSectorBytes + 1;
  flash_.nor().CutPowerAfter(static_cast<uint32_t>(1 + random.Below(2 * image_sectors)),
                             flash::TearMode::kPrefix, random.Next());
}

void SimDevice::PowerOn(uint64_t now_ms) {
  flash::NorFlashModel& nor = flash_.nor();
  nor.PowerOn();
  Update([](DeviceStatus& s) { ++s.boots; });
  if (faults_.swap_cut && !swap_cut_armed_ && SwapRequested()) ArmSwapCut();

  const boot::SwapContext context{flash_.primary(), flash_.secondary(), &flash_.scratch(),
                                  fleet_.layout.trailer(), 0};
  const boot::BootConfig config{
      context, Algorithm(), &crypto_, fleet_.trusted, boot::DowngradePolicy::kByVersion,
      nullptr, true};
  const auto outcome = boot::Boot(config);
  const bool cut = !nor.powered();
  nor.CancelPowerCut();
  PayFlashDebt(now_ms);
  if (cut) {
    PowerCut("swap", now_ms);
    return;
  }
  if (!outcome.ok()) {
    std::string why = std::string("no bootable image: ") + boot::Describe(outcome.error().code);
    if (outcome.error().code == boot::BootErrc::kNoBootableImage) {
      why += std::string(" (") + image::Describe(outcome.error().image.code) + ")";
    }
    phase_ = Phase::kDead;
    Update([](DeviceStatus& s) { s.dead = true; });
    Emit("failed", now_ms, VersionText(running_), std::nullopt, why);
    return;
  }
  const boot::BootRecord record = boot::MakeBootRecord(*outcome);
  running_ = record.booted_version;
  image::FlashImageSource primary(flash_.primary());
  const auto digest = image::ReadStatedDigest(primary);
  running_digest_known_ = digest.ok();
  if (digest.ok()) running_digest_ = *digest;
  const bool on_trial = record.swap == boot::SwapType::kTest && !record.confirmed;
  Update([&](DeviceStatus& s) {
    s.running = running_;
    s.confirmed = !on_trial;
    s.answered_since_boot = 0;
  });
  Emit("booted", now_ms, VersionText(running_), std::nullopt,
       std::string("swap ") + SwapName(record.swap) + (record.resumed ? ", resumed" : ""));
  const auto& hang = fleet_.options.faults.hang_versions;
  if (on_trial && std::find(hang.begin(), hang.end(), running_) != hang.end()) {
    // The image hangs before its health check: no network, no confirmation,
    // until the watchdog resets the device.
    phase_ = Phase::kHung;
    watchdog_at_ms_ = std::max(now_ms, busy_until_ms_) + fleet_.options.watchdog_ms;
    Emit("hang", now_ms, VersionText(running_));
    return;
  }
  StartApplication(record, on_trial, now_ms);
}

void SimDevice::StartApplication(const boot::BootRecord& record, bool on_trial, uint64_t now_ms) {
  store_.emplace(flash_.secondary(), flash_.journal(),
                 agent::DownloadLimits{fleet_.layout.usable_slot_bytes()}, granule_bitmap_);
  agent_.emplace(AgentConfig(), *this, entropy_, *store_, flash_.secondary(),
                 fleet_.layout.trailer());
  QueueBootReport(record, on_trial, now_ms);
  trial_ = on_trial;
  phase_ = Phase::kRunning;
}

// As app/ota_task.cpp: what the bootloader did, told to the server at the
// agent's next session. A revert after a power cut is the power's fault, not
// the image's (interrupted: tried again); after a watchdog or software reset
// it is the image's (reverted: blocklisted).
void SimDevice::QueueBootReport(const boot::BootRecord& r, bool on_trial, uint64_t now_ms) {
  if (r.swap == boot::SwapType::kRevert && r.previous_version) {
    const bool power = reset_cause_ == ResetCause::kPowerOn;
    agent_->ReportBoot(
        {power ? agent::BootReportKind::kInterrupted : agent::BootReportKind::kReverted,
         *r.previous_version, ""});
    if (!power) Update([&](DeviceStatus& s) { s.failed_versions.push_back(*r.previous_version); });
    Emit(power ? "interrupted" : "reverted", now_ms, VersionText(*r.previous_version));
  } else if (r.rejected != boot::RejectReason::kNone &&
             r.rejected != boot::RejectReason::kNoImage) {
    agent_->ReportBoot(
        {agent::BootReportKind::kRejected, r.rejected_version, boot::Describe(r.rejected)});
    Update([&](DeviceStatus& s) { s.failed_versions.push_back(r.rejected_version); });
    Emit("rejected", now_ms, VersionText(r.rejected_version), std::nullopt,
         boot::Describe(r.rejected));
  } else if (r.swap == boot::SwapType::kPerm && !on_trial) {
    agent_->ReportBoot({agent::BootReportKind::kConfirmed, r.booted_version, ""});
    Emit("confirmed", now_ms, VersionText(r.booted_version));
  }
}

void SimDevice::ConfirmTrial(uint64_t now_ms) {
  trial_ = false;
  const boot::Trailer primary(flash_.primary(), fleet_.layout.trailer());
  if (!boot::SetConfirmed(primary).ok()) {
    Emit("failed", now_ms, VersionText(running_), std::nullopt,
         "confirming failed (flash): the next boot reverts it");
    return;
  }
  PayFlashDebt(now_ms);
  Update([](DeviceStatus& s) { s.confirmed = true; });
  Emit("confirmed", now_ms, VersionText(running_));
  agent_->ReportBoot({agent::BootReportKind::kConfirmed, running_, ""});
  agent_->CheckNow(now_ms);
}

void SimDevice::StopApplication() {
  agent_.reset();
  store_.reset();
  mqtt_.reset();  // the socket closes without DISCONNECT, as in a reset
  agent_started_ = false;
  trial_ = false;
  reset_at_ms_ = 0;
  seen_state_ = agent::AgentState::kIdle;
  seen_sessions_ = 0;
  seen_step_ = -1;
}

void SimDevice::Reset(ResetCause cause, const char* why, uint64_t now_ms) {
  if (cause == ResetCause::kWatchdog) Update([](DeviceStatus& s) { ++s.watchdog_resets; });
  Emit("reset", now_ms, VersionText(running_), std::nullopt, why);
  StopApplication();
  phase_ = Phase::kOff;
  reset_cause_ = cause;
  power_on_at_ms_ = std::max(now_ms, busy_until_ms_);
}

void SimDevice::PowerCut(const char* phase, uint64_t now_ms) {
  const bool swap = std::string_view(phase) == "swap";
  Update([&](DeviceStatus& s) { ++(swap ? s.swap_cuts : s.power_cuts); });
  Emit("power-cut", now_ms, VersionText(running_), std::nullopt, phase);
  StopApplication();
  phase_ = Phase::kOff;
  reset_cause_ = ResetCause::kPowerOn;
  busy_until_ms_ = 0;  // the work in progress died with the power
  power_on_at_ms_ = now_ms + fleet_.options.power_off_ms;
}

}  // namespace mqota::sim
