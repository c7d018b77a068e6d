// The SQLite registry's class, shared by its two source files:
// sqlite_registry.cpp (opening, devices, events, images) and
// sqlite_campaigns.cpp (campaigns). One connection behind one mutex: every
// public call takes the mutex and runs one transaction
// (docs/spec/fleet-registry.md#threads).
#pragma once

#include <mutex>
#include <string>
#include <utility>

#include "instance_lock.h"
#include "mqota/fleet/sqlite_registry.h"
#include "sqlite_db.h"

namespace mqota::fleet::sqlite {

// A campaigns row, decoded.
struct CampaignRow {
  int64_t id = 0;
  std::string name;
  int64_t image = 0;
  CampaignTarget target;
  CampaignRules rules;
  CampaignStatus status = CampaignStatus::kRunning;
  std::string status_reason;
  uint32_t wave_count = 0;
  uint32_t open_waves = 1;
  std::optional<TimeMs> gate_met_at;
  uint32_t failures_accepted = 0;
  TimeMs created = 0;
  TimeMs updated = 0;
};

class SqliteRegistryImpl final : public SqliteRegistry {
 public:
  SqliteRegistryImpl(InstanceLock lock, Database db) : lock_(std::move(lock)), db_(std::move(db)) {}

  SqliteSettings Settings() override;

  void SeeDevice(const DeviceSighting& sighting) override;
  void SetOnline(const std::string& device, bool online, TimeMs time) override;
  void SetTags(const std::string& device, const std::vector<std::string>& tags) override;
  std::optional<Device> FindDevice(const std::string& device) override;
  std::vector<Device> ListDevices(const DeviceFilter& filter) override;
  std::vector<DeviceEvent> History(const std::string& device, uint32_t limit) override;
  bool Barred(const std::string& device, const std::string& version) override;
  RecordedEvent Record(const DeviceEvent& event) override;
  std::vector<RecordOutcome> RecordAll(std::span<const DeviceEvent> events) override;

  int64_t AddImage(const Image& image) override;
  std::vector<Image> ListImages() override;
  std::optional<Image> FindImage(int64_t id) override;

  int64_t CreateCampaign(const NewCampaign& campaign) override;
  std::vector<Campaign> ListCampaigns() override;
  std::optional<Campaign> FindCampaign(int64_t id) override;
  std::vector<CampaignLogEntry> CampaignLog(int64_t id) override;
  std::vector<CampaignDevice> CampaignDevices(int64_t id) override;
  CampaignState LoadState(int64_t id, TimeMs now) override;
  void ApplyStep(int64_t id, const Step& step, TimeMs now) override;
  std::vector<Step> Advance(int64_t id, TimeMs now) override;
  Campaign Control(int64_t id, Command command, const std::string& who, TimeMs now) override;
  std::vector<int64_t> RunningCampaigns() override;
  std::optional<DeviceCampaign> CampaignOf(const std::string& device, TimeMs now) override;
  std::vector<std::string> DevicesToNotify(int64_t campaign, uint32_t limit) override;
  std::vector<WaveProgress> CampaignProgress(int64_t campaign) override;
  FleetCounts Counts() override;
  VersionHistory VersionsOver(std::span<const TimeMs> times) override;

 private:
  // `work` under the mutex, in one transaction.
  template <typename Work>
  auto Write(Work&& work) {
    std::lock_guard<std::mutex> hold(mutex_);
    return InTransaction(db_, std::forward<Work>(work), TransactionKind::kWrite);
  }
  template <typename Work>
  auto Read(Work&& work) {
    std::lock_guard<std::mutex> hold(mutex_);
    return InTransaction(db_, std::forward<Work>(work), TransactionKind::kRead);
  }

  // Inside a transaction, the mutex held.
  RecordedEvent RecordLocked(const DeviceEvent& event);
  bool DeviceExists(const std::string& device);
  // Whether the device's newest event of `version`, progress aside, is of `kind`.
  bool NewestReportIs(const std::string& device, const std::string& version,
                      const std::string& kind);
  std::vector<std::string> TagsOf(const std::string& device);
  std::optional<Image> SelectImage(int64_t id);
  std::optional<CampaignRow> SelectCampaign(int64_t id);
  CampaignRow RequireCampaign(int64_t id);  // RegistryRefusal "no campaign N"
  std::vector<WaveTally> Tallies(const CampaignRow& row);
  CampaignState StateOf(const CampaignRow& row, TimeMs now);
  Campaign CampaignOfRow(const CampaignRow& row);
  void ApplyStepTo(const CampaignRow& row, const Step& step, TimeMs now);
  void AppendLog(int64_t campaign, TimeMs time, std::string_view action, std::string_view reason);

  std::mutex mutex_;
  // Declared before the connection, so it is released after it closes.
  InstanceLock lock_;
  Database db_;
};

}  // namespace mqota::fleet::sqlite
