// The registry: the one storage seam of the fleet (docs/design.md, "One
// storage seam"). Devices, images, campaigns, the devices of each campaign
// and every device event; the current state is kept in step with the
// append-only events inside one transaction, so a crash at any moment leaves
// either both or neither. SQLite implements it (sqlite_registry.h), and so
// does PostgreSQL (postgres_registry.h); one test suite runs against every
// backend, and open_registry.h picks one by name.
//
// Thread-safe. Every call is one transaction; a call that returns has
// committed (with SQLite, synchronous=FULL: it is on disk; with PostgreSQL,
// as durable as the server's settings make a commit). Failures throw
// RegistryError with one sentence naming the database; bad input throws
// RegistryRefusal. What changes together, in one transaction, is
// docs/spec/fleet-registry.md#what-is-kept-in-step.
//
// Versions are compared as major.minor.revision numbers (as the bootloader
// and the protocol do) and stored in that form: "1.2.0+7" is stored and
// matched as "1.2.0" (docs/spec/fleet-registry.md#versions).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "mqota/fleet/campaign.h"
#include "mqota/fleet/model.h"

namespace mqota::fleet {

class RegistryError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Bad input from an operator (a campaign for a board without devices, an
// unknown image): the API answers it with a 4xx and this sentence.
class RegistryRefusal : public RegistryError {
 public:
  using RegistryError::RegistryError;
};

// A device asked the server something: it exists, runs `version`, and was
// last seen now.
struct DeviceSighting {
  std::string device;
  std::string board;
  std::string version;     // "" when the message did not say
  std::string image_hash;  // "" when unknown
  bool verified = false;   // on its own ACL-bound topic
  TimeMs time = 0;
};

struct DeviceFilter {
  std::string board;    // "" = any
  std::string tag;      // "" = any
  std::string version;  // "" = any
  uint32_t limit = 1000;
  uint32_t offset = 0;
};

// Which devices a campaign is for: every device of `board` that is running
// an older version than the image and has not barred it, narrowed by the
// optional fields (docs/spec/fleet-registry.md#creating-a-campaign).
struct CampaignTarget {
  std::string board;                 // "": the image's board; another one is refused
  std::vector<std::string> devices;  // only these (empty: no such narrowing); each must
                                     // be a registered device of the board
  std::string tag;                   // only devices with this tag
  std::string from_version;          // only devices running exactly this version
};

struct NewCampaign {
  std::string name;
  int64_t image = 0;  // Image::id
  CampaignTarget target;
  CampaignRules rules;
  TimeMs time = 0;
};

// One device of a campaign, in the campaign's order.
struct CampaignDevice {
  std::string device;
  uint32_t position = 0;  // 0-based place in the campaign's order
  uint32_t wave = 0;
  Stage stage = Stage::kWaiting;
  std::optional<TimeMs> first_offered_at;  // when it left `waiting`
  std::optional<TimeMs> updated_at;        // the last event of the image's version
};

// A campaign as shown to operators.
struct Campaign {
  int64_t id = 0;
  std::string name;
  Image image;
  CampaignTarget target;
  CampaignRules rules;
  CampaignStatus status = CampaignStatus::kRunning;
  uint32_t open_waves = 1;
  std::optional<TimeMs> gate_met_at;
  uint32_t failures_accepted = 0;
  std::string status_reason;  // why it halted, paused, completed...
  std::vector<WaveTally> waves;
  TimeMs created = 0;
  TimeMs updated = 0;
};

// One decision taken about a campaign: by the engine (wave opened, halted,
// completed) or by an operator (paused, resumed, cancelled).
struct CampaignLogEntry {
  TimeMs time = 0;
  std::string action;  // "created", "gate met", "wave opened", "halted", ...
  std::string reason;
};

// A device's place in the running campaign that targets it.
struct DeviceCampaign {
  int64_t campaign = 0;
  Image image;
  uint32_t wave = 0;
  Stage stage = Stage::kWaiting;
  CampaignState state;  // for MayOffer
};

struct RecordedEvent {
  int64_t id = 0;  // 0 when `repeated`
  // DeviceEvent::unless_repeated, and it was a repeat: nothing was written.
  bool repeated = false;
  // The campaign whose device changed stage (its tallies moved): evaluate
  // NextStep for it.
  std::optional<int64_t> campaign_changed;
};

// What RecordAll did with one event: recorded, or refused and why.
struct RecordOutcome {
  std::optional<RecordedEvent> recorded;
  std::string refusal;  // RegistryRefusal's sentence, when not recorded
};

// How many devices and campaigns stand where: what /metrics and the
// dashboard's fleet summary show. One read transaction whose cost grows with
// the devices (a pass over the devices table), never with their events.
struct FleetCounts {
  struct Version {
    std::string board;
    std::string version;
    uint64_t devices = 0;
    uint64_t online = 0;
  };
  uint64_t devices = 0;
  uint64_t online = 0;
  std::vector<Version> versions;              // by board, then version
  std::map<std::string, uint64_t> states;     // Device::state -> devices
  std::map<std::string, uint64_t> campaigns;  // CampaignStatusName -> campaigns
};

// One wave of a campaign by where its devices are, finer than WaveTally:
// the stage split by the device's last event (docs/spec/fleet-api.md#summary-and-progress).
// The split reads the device's current state, so a device that moved on to
// another campaign's image counts where that one put it.
struct WaveProgress {
  uint32_t devices = 0;
  uint32_t waiting = 0;      // stage waiting
  uint32_t offered = 0;      // stage offered, no download news yet
  uint32_t downloading = 0;  // stage offered, last event downloading..booted
  uint32_t confirmed = 0;    // stage confirmed
  uint32_t reverted = 0;     // stage failed, last event reverted
  uint32_t failed = 0;       // stage failed otherwise (rejected, refused, failed)
};

// How many devices ran each version at each of some moments: the fleet
// page's chart (docs/spec/fleet-registry.md#version-history). Read from the
// devices as they are now and the version changes since the first moment,
// unwound backwards, so its cost grows with the devices and with the changes
// in the window, never with the events.
struct VersionHistory {
  struct Series {
    std::string board;
    std::string version;            // "" for devices that never said
    std::vector<uint64_t> devices;  // one per moment
  };
  std::vector<TimeMs> times;   // the moments asked for, oldest first
  std::vector<Series> series;  // by board, then version; only those with devices
};

class Registry {
 public:
  virtual ~Registry() = default;

  // Devices. SeeDevice creates the device or updates it (board, version and
  // hash when given, last_seen; `verified` once set stays set); it does not
  // change `online`, which only SetOnline does (the broker's view).
  virtual void SeeDevice(const DeviceSighting& sighting) = 0;
  // Ignored for a device never seen: a device becomes known with its board.
  virtual void SetOnline(const std::string& device, bool online, TimeMs time) = 0;
  // Replaces the device's tags; RegistryRefusal for an unknown device or an
  // empty tag.
  virtual void SetTags(const std::string& device, const std::vector<std::string>& tags) = 0;
  virtual std::optional<Device> FindDevice(const std::string& device) = 0;
  // Ordered by id.
  virtual std::vector<Device> ListDevices(const DeviceFilter& filter) = 0;
  // Newest first (by time, then by the order recorded), at most `limit`.
  virtual std::vector<DeviceEvent> History(const std::string& device, uint32_t limit) = 0;
  // Whether the device reverted, rejected or refused `version` (any time).
  virtual bool Barred(const std::string& device, const std::string& version) = 0;

  // Events: appended, and the device's state and its campaign stage (when
  // the event's version is its campaign's image) moved on, in one
  // transaction. An event whose `campaign` is unset is attributed to the
  // newest running, paused or halted campaign holding the device whose image
  // has that version, if any (docs/spec/fleet-registry.md#recording-an-event).
  // RegistryRefusal for an unknown device or campaign.
  virtual RecordedEvent Record(const DeviceEvent& event) = 0;
  // Events, each as Record would, all in one transaction (one commit for
  // many: the registry's write rate is its commit rate); each device's in
  // their order (a backend may take the devices in an order of its own, and
  // number the events so). An event
  // Record would refuse is left out and its outcome says why; any other
  // failure (RegistryError) writes none of them. One outcome per event.
  virtual std::vector<RecordOutcome> RecordAll(std::span<const DeviceEvent> events) = 0;

  // Images. AddImage returns the existing id when the same board, version
  // and hash are there already (taking the image's key_hash when it is
  // given and the stored one differs); a different hash for the same board
  // and version is refused, and so is a version that is not one.
  virtual int64_t AddImage(const Image& image) = 0;
  virtual std::vector<Image> ListImages() = 0;
  virtual std::optional<Image> FindImage(int64_t id) = 0;

  // Campaigns. CreateCampaign resolves the target to devices, orders them
  // (stably, by a hash of campaign and device, so canaries are spread over
  // the fleet) and places them in waves; refused (RegistryRefusal) when the
  // image does not exist, the name or the rules do not hold, or no device is
  // targeted. The first wave is open.
  virtual int64_t CreateCampaign(const NewCampaign& campaign) = 0;
  // Newest first.
  virtual std::vector<Campaign> ListCampaigns() = 0;
  virtual std::optional<Campaign> FindCampaign(int64_t id) = 0;
  // Oldest first. The calls below refuse an unknown campaign id
  // (RegistryRefusal "no campaign N").
  virtual std::vector<CampaignLogEntry> CampaignLog(int64_t id) = 0;
  // In the campaign's order.
  virtual std::vector<CampaignDevice> CampaignDevices(int64_t id) = 0;
  // The decision input, with in_flight and starts_last_minute as of `now`.
  virtual CampaignState LoadState(int64_t id, TimeMs now) = 0;
  // Applies an engine step and logs it; kNothing does nothing. Refused
  // unless the campaign is running. LoadState, NextStep and ApplyStep are
  // three transactions: with several threads, use Advance.
  virtual void ApplyStep(int64_t id, const Step& step, TimeMs now) = 0;
  // Asks NextStep and applies its answer until it says kNothing, in one
  // transaction, so two threads (or an operator's command) cannot both act
  // on one reading. Returns the steps taken, in order.
  virtual std::vector<Step> Advance(int64_t id, TimeMs now) = 0;
  // An operator's command; RegistryRefusal when the status does not allow it.
  enum class Command : uint8_t { kPause, kResume, kCancel };
  virtual Campaign Control(int64_t id, Command command, const std::string& who, TimeMs now) = 0;
  // The running campaigns, oldest first.
  virtual std::vector<int64_t> RunningCampaigns() = 0;
  // The newest running campaign that holds `device`, if any.
  virtual std::optional<DeviceCampaign> CampaignOf(const std::string& device, TimeMs now) = 0;
  // Devices of open waves that have not been offered anything yet and are
  // online, in the campaign's order, at most `limit`: whom to tell about the
  // campaign. Empty unless the campaign is running.
  virtual std::vector<std::string> DevicesToNotify(int64_t campaign, uint32_t limit) = 0;
  // One per wave, in order; RegistryRefusal for an unknown campaign.
  virtual std::vector<WaveProgress> CampaignProgress(int64_t campaign) = 0;

  // The fleet counted (FleetCounts).
  virtual FleetCounts Counts() = 0;
  // The devices by board and version at each of `times` (ascending; at most
  // 10 000 of them, else RegistryRefusal), in one read transaction. A moment
  // after the last change counts the devices as they are now.
  virtual VersionHistory VersionsOver(std::span<const TimeMs> times) = 0;
};

}  // namespace mqota::fleet
