// The PostgreSQL registry's class, shared by its source files:
// postgres_registry.cpp (opening, devices, events, images),
// postgres_campaigns.cpp (campaigns) and postgres_counts.cpp (counts).
//
// Every public call leases a connection from the pool and runs one
// transaction on it, so the calls of several threads run side by side;
// PostgreSQL's row locks order those that touch the same rows, in one
// process as across servers (docs/spec/fleet-registry.md#several-servers).
#pragma once

#include <cstddef>
#include <string>
#include <utility>

#include "mqota/fleet/postgres_registry.h"
#include "postgres_db.h"
#include "postgres_pool.h"

namespace mqota::fleet::postgres {

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

// Whether a campaign is read to show it, or to decide about it: a decision
// locks the row (FOR NO KEY UPDATE) until the transaction ends, so another
// server deciding about the same campaign waits and then reads the result.
enum class CampaignLock : uint8_t { kNone, kForDecision };

class PostgresRegistryImpl final : public PostgresRegistry {
 public:
  PostgresRegistryImpl(std::string url, Connection first, size_t connections)
      : pool_(std::move(url), std::move(first), connections) {}

  PostgresSettings Settings() override;

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
  // `work` in one transaction, on a connection leased for it.
  template <typename Work>
  auto Write(Work&& work) {
    return OnLeased(std::forward<Work>(work), TransactionKind::kWrite);
  }
  template <typename Work>
  auto Read(Work&& work) {
    return OnLeased(std::forward<Work>(work), TransactionKind::kRead);
  }
  template <typename Work>
  auto OnLeased(Work&& work, TransactionKind kind) {
    ConnectionPool::Lease lease = pool_.Acquire();
    const Current current(lease.connection());
    return InTransaction(lease.connection(), std::forward<Work>(work), kind);
  }

  // The connection of the transaction this thread runs: the helpers below
  // run inside one, called from `work`, and reach it here rather than each
  // taking it as an argument.
  static Connection& db() { return *current_; }
  // Sets current_ for a transaction's length (and restores it after).
  class Current {
   public:
    explicit Current(Connection& db) : previous_(current_) { current_ = &db; }
    ~Current() { current_ = previous_; }
    Current(const Current&) = delete;
    Current& operator=(const Current&) = delete;

   private:
    Connection* previous_;
  };
  static inline thread_local Connection* current_ = nullptr;

  // Inside a transaction (db() is its connection).
  RecordedEvent RecordLocked(const DeviceEvent& event);
  // kForUpdate: the device's row stays locked to the end of the transaction.
  enum class RowLock : uint8_t { kNone, kForUpdate };
  bool DeviceExists(const std::string& device, RowLock lock = RowLock::kNone);
  // Whether the device's newest event of `version`, progress aside, is of `kind`.
  bool NewestReportIs(const std::string& device, const std::string& version,
                      const std::string& kind);
  std::vector<std::string> TagsOf(const std::string& device);
  std::optional<Image> SelectImage(int64_t id);
  std::optional<CampaignRow> SelectCampaign(int64_t id, CampaignLock lock = CampaignLock::kNone);
  // RegistryRefusal "no campaign N".
  CampaignRow RequireCampaign(int64_t id, CampaignLock lock = CampaignLock::kNone);
  std::vector<WaveTally> Tallies(const CampaignRow& row);
  CampaignState StateOf(const CampaignRow& row, TimeMs now);
  Campaign CampaignOfRow(const CampaignRow& row);
  void ApplyStepTo(const CampaignRow& row, const Step& step, TimeMs now);
  void AppendLog(int64_t campaign, TimeMs time, std::string_view action, std::string_view reason);

  ConnectionPool pool_;
};

}  // namespace mqota::fleet::postgres
