// Campaigns: an image rolled out to a fleet in waves, gated by how the last
// wave went, halted by itself when too many devices fail after boot.
//
// The decisions are pure functions of a campaign's state and the clock
// reading passed in (docs/design.md, "Decisions are pure"): no storage, no
// MQTT, no clock inside. The registry loads a CampaignState, asks, and stores
// the answer in one transaction; the tests walk tables of states.
// The rules are docs/spec/fleet-campaigns.md.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mqota/fleet/model.h"

namespace mqota::fleet {

// One wave's size, cumulative: "1%" = the first 1 % of the target devices,
// "20" = the first 20. A last "100%" is implied.
struct WaveSize {
  bool percent = true;
  uint32_t value = 100;  // percent: 1..100; count: >= 1
  bool operator==(const WaveSize&) const = default;
};

// "1%,10%,50%" or "5,50,100%": a comma-separated list, non-decreasing.
// nullopt and `error` set (one sentence) when it is not one.
std::optional<std::vector<WaveSize>> ParseWaves(std::string_view text, std::string* error);
std::string FormatWaves(const std::vector<WaveSize>& waves);

struct CampaignRules {
  std::vector<WaveSize> waves{{true, 100}};
  // A wave's next one opens when this share of the wave is confirmed after
  // boot (0..100) ...
  uint32_t success_percent = 90;
  // ... and then this long has passed without a halt (0: at once).
  int64_t soak_ms = 0;
  // Halt when more than this share (0..100) of the devices in the opened
  // waves have failed (reverted, rejected, refused, failed). 0: the first
  // failure halts.
  uint32_t failure_percent = 10;
  // Devices with an offer outstanding (offered, not yet confirmed or
  // failed) at most; 0: no cap.
  uint32_t max_in_flight = 0;
  // First offers per minute at most; 0: no limit.
  uint32_t starts_per_minute = 0;
  // An offer without any news from the device for this long no longer
  // holds a slot of max_in_flight (the device went away).
  int64_t stall_ms = int64_t{30} * 60 * 1000;
};

// Empty when the rules hold together; else one sentence.
std::string CheckRules(const CampaignRules& rules);

enum class CampaignStatus : uint8_t { kRunning, kPaused, kHalted, kCancelled, kCompleted };
std::string_view CampaignStatusName(CampaignStatus status);
std::optional<CampaignStatus> ParseCampaignStatus(std::string_view name);

// Where one device of a campaign stands.
enum class Stage : uint8_t {
  kWaiting,    // its wave is not open yet
  kOffered,    // offered (or told); no outcome yet
  kConfirmed,  // booted the image and confirmed it (or already ran it)
  kFailed,     // reverted, rejected, refused or failed: counts against the campaign
};
std::string_view StageName(Stage stage);
std::optional<Stage> ParseStage(std::string_view name);

// The cumulative number of devices after each wave, for `devices` targets:
// strictly increasing, the last equal to `devices`; a wave that would add
// nobody is dropped (1 % of 50 devices is 1 device, not 0). Empty when
// `devices` is 0.
std::vector<uint32_t> WaveEnds(const std::vector<WaveSize>& waves, uint32_t devices);

// One wave's tally, by stage.
struct WaveTally {
  uint32_t devices = 0;
  uint32_t offered = 0;  // of which in flight: see CampaignState::in_flight
  uint32_t confirmed = 0;
  uint32_t failed = 0;
};

// All the decisions need to know of one campaign.
struct CampaignState {
  CampaignRules rules;
  CampaignStatus status = CampaignStatus::kRunning;
  uint32_t open_waves = 1;            // waves 0..open_waves-1 are open
  std::optional<TimeMs> gate_met_at;  // when the last open wave met its gate
  std::vector<WaveTally> waves;       // one per wave (WaveEnds' size)
  uint32_t in_flight = 0;             // offers with news newer than stall_ms
  uint32_t starts_last_minute = 0;    // first offers in the last 60 s
  // Failures the operator accepted by resuming a halted campaign: they no
  // longer count towards the threshold, the ones after it do.
  uint32_t failures_accepted = 0;
};

// What the campaign does next.
struct Step {
  enum Kind : uint8_t {
    kNothing,
    kGateMet,   // record gate_met_at = now (a soak starts)
    kOpenWave,  // open_waves + 1
    kHalt,      // status halted, `reason` says which threshold and by how much
    kComplete,  // every wave is open and every device confirmed or failed
  };
  Kind kind = kNothing;
  std::string reason;  // one sentence for the campaign's log
  bool operator==(const Step&) const = default;
};

// The one step to take now. Call again after applying it: opening a wave can
// be followed at once by meeting its gate, and so on.
Step NextStep(const CampaignState& state, TimeMs now);

// Whether a device at `stage` in `wave` may get an offer now.
struct OfferVerdict {
  bool offer = false;
  std::string why_not;  // when !offer: one phrase for the log
};
OfferVerdict MayOffer(const CampaignState& state, uint32_t wave, Stage stage);

// Operators' commands, checked against the status. `error` set when refused.
std::optional<CampaignStatus> Pause(CampaignStatus status, std::string* error);
std::optional<CampaignStatus> Resume(CampaignStatus status, std::string* error);
std::optional<CampaignStatus> Cancel(CampaignStatus status, std::string* error);

// The stage an event moves a campaign's device to, from `current`; nullopt
// when the event does not change it (progress, or news after an outcome
// that is final, e.g. a late "downloading" after "confirmed").
std::optional<Stage> StageAfter(Stage current, EventKind kind);

}  // namespace mqota::fleet
