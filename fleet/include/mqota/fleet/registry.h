// The registry: the one storage seam of the fleet (docs/design.md, "One
// storage seam"). Devices, images, campaigns, the devices of each campaign
// and every device event; the current state is kept in step with the
// append-only events inside one transaction, so a crash at any moment leaves
// either both or neither. SQLite implements it (sqlite_registry.h);
// PostgreSQL will, and one test suite runs against every backend.
//
// Thread-safe. Every call is one transaction; a call that returns has
// committed (with SQLite, synchronous=FULL: it is on disk). Failures throw
// RegistryError with one sentence naming the database.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
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
// an older version than the image, narrowed by the optional fields.
struct CampaignTarget {
  std::string board;
  std::vector<std::string> devices;  // only these (empty: no such narrowing)
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
  int64_t id = 0;
  // The campaign whose device changed stage (its tallies moved): evaluate
  // NextStep for it.
  std::optional<int64_t> campaign_changed;
};

class Registry {
 public:
  virtual ~Registry() = default;

  // Devices.
  virtual void SeeDevice(const DeviceSighting& sighting) = 0;
  virtual void SetOnline(const std::string& device, bool online, TimeMs time) = 0;
  virtual void SetTags(const std::string& device, const std::vector<std::string>& tags) = 0;
  virtual std::optional<Device> FindDevice(const std::string& device) = 0;
  virtual std::vector<Device> ListDevices(const DeviceFilter& filter) = 0;
  // Newest first, at most `limit`.
  virtual std::vector<DeviceEvent> History(const std::string& device, uint32_t limit) = 0;
  // Whether the device reverted, rejected or refused `version` (any time).
  virtual bool Barred(const std::string& device, const std::string& version) = 0;

  // Events: appended, and the device's state and its campaign stage (when
  // the event's version is its campaign's image) moved on. An event whose
  // `campaign` is unset is attributed to the running campaign of the device
  // with that version, if any.
  virtual RecordedEvent Record(const DeviceEvent& event) = 0;

  // Images. AddImage returns the existing id when the same board, version
  // and hash are there already; a different hash for the same board and
  // version is refused.
  virtual int64_t AddImage(const Image& image) = 0;
  virtual std::vector<Image> ListImages() = 0;
  virtual std::optional<Image> FindImage(int64_t id) = 0;

  // Campaigns. CreateCampaign resolves the target to devices, orders them
  // (stably, by a hash of campaign and device, so canaries are spread over
  // the fleet) and places them in waves; refused (RegistryRefusal) when the
  // image does not exist, the rules do not hold, or no device is targeted.
  virtual int64_t CreateCampaign(const NewCampaign& campaign) = 0;
  virtual std::vector<Campaign> ListCampaigns() = 0;
  virtual std::optional<Campaign> FindCampaign(int64_t id) = 0;
  virtual std::vector<CampaignLogEntry> CampaignLog(int64_t id) = 0;
  // The decision input, with in_flight and starts_last_minute as of `now`.
  virtual CampaignState LoadState(int64_t id, TimeMs now) = 0;
  // Applies an engine step (not kNothing) and logs it.
  virtual void ApplyStep(int64_t id, const Step& step, TimeMs now) = 0;
  // An operator's command; RegistryRefusal when the status does not allow it.
  enum class Command : uint8_t { kPause, kResume, kCancel };
  virtual Campaign Control(int64_t id, Command command, const std::string& who, TimeMs now) = 0;
  // The running campaigns.
  virtual std::vector<int64_t> RunningCampaigns() = 0;
  // The running campaign that targets `device`, if any.
  virtual std::optional<DeviceCampaign> CampaignOf(const std::string& device, TimeMs now) = 0;
  // Devices of open waves that have not been offered anything yet and are
  // online, at most `limit`: whom to tell about the campaign.
  virtual std::vector<std::string> DevicesToNotify(int64_t campaign, uint32_t limit) = 0;
};

}  // namespace mqota::fleet
