// The PostgreSQL registry's counts: what /metrics and the dashboard read every
// second or so. Each is GROUP BY over one table (or one campaign's devices
// joined to their state), so its cost grows with the devices, not with the
// events they ever reported.
#include "postgres_registry_impl.h"
#include "version_history.h"

namespace mqota::fleet::postgres {

std::vector<WaveProgress> PostgresRegistryImpl::CampaignProgress(int64_t campaign) {
  return Read([&] {
    const CampaignRow row = RequireCampaign(campaign);
    std::vector<WaveProgress> waves(row.wave_count);
    Query q = db().Prepare(
        "SELECT cd.wave, cd.stage, d.state, COUNT(*) FROM campaign_devices cd "
        "JOIN devices d ON d.id = cd.device WHERE cd.campaign = $1 "
        "GROUP BY cd.wave, cd.stage, d.state");
    q.BindAll(campaign);
    while (q.Step()) {
      const auto wave = static_cast<size_t>(q.Int(0));
      if (wave >= waves.size()) continue;  // cannot be: wave < wave_count
      const std::string stage = q.Text(1);
      const std::string state = q.Text(2);
      const auto n = static_cast<uint32_t>(q.Int(3));
      WaveProgress& w = waves[wave];
      w.devices += n;
      if (stage == "waiting") {
        w.waiting += n;
      } else if (stage == "confirmed") {
        w.confirmed += n;
      } else if (stage == "failed") {
        (state == "reverted" ? w.reverted : w.failed) += n;
      } else {
        const bool moving = state == "downloading" || state == "downloaded" ||
                            state == "verified" || state == "pending" || state == "booted";
        (moving ? w.downloading : w.offered) += n;
      }
    }
    return waves;
  });
}

FleetCounts PostgresRegistryImpl::Counts() {
  return Read([&] {
    FleetCounts counts;
    {
      // One pass over the table; ordered by bytes, as SQLite does.
      Query q = db().Prepare(
          "SELECT board, version, COUNT(*), COUNT(*) FILTER (WHERE online) FROM devices "
          "GROUP BY board, version ORDER BY board COLLATE \"C\", version COLLATE \"C\"");
      while (q.Step()) {
        FleetCounts::Version v{q.Text(0), q.Text(1), static_cast<uint64_t>(q.Int(2)),
                               static_cast<uint64_t>(q.Int(3))};
        counts.devices += v.devices;
        counts.online += v.online;
        counts.versions.push_back(std::move(v));
      }
    }
    {
      Query q = db().Prepare("SELECT state, COUNT(*) FROM devices GROUP BY state");
      while (q.Step()) counts.states[q.Text(0)] = static_cast<uint64_t>(q.Int(1));
    }
    {
      Query q = db().Prepare("SELECT status, COUNT(*) FROM campaigns GROUP BY status");
      while (q.Step()) counts.campaigns[q.Text(0)] = static_cast<uint64_t>(q.Int(1));
    }
    return counts;
  });
}

VersionHistory PostgresRegistryImpl::VersionsOver(std::span<const TimeMs> times) {
  CheckHistoryTimes(times);
  if (times.empty()) return {};
  return Read([&] {
    // The devices now (devices_by_board), and the changes since the first
    // moment, newest first (version_changes_by_time): one read transaction,
    // so the two agree.
    std::map<BoardVersion, int64_t> now;
    {
      Query q =
          db().Prepare("SELECT board, version, COUNT(*) FROM devices GROUP BY board, version");
      while (q.Step()) now[{q.Text(0), q.Text(1)}] = q.Int(2);
    }
    std::vector<VersionChange> changes;
    {
      Query q = db().Prepare(
          "SELECT time, old_board IS NULL, COALESCE(old_board, ''), COALESCE(old_version, ''), "
          "board, version FROM version_changes WHERE time > $1 ORDER BY time DESC, id DESC");
      q.BindAll(times.front());
      while (q.Step()) {
        VersionChange change;
        change.time = q.Int(0);
        if (!q.Bool(1)) change.before = BoardVersion{q.Text(2), q.Text(3)};
        change.after = {q.Text(4), q.Text(5)};
        changes.push_back(std::move(change));
      }
    }
    return BuildVersionHistory(std::move(now), changes, times);
  });
}

}  // namespace mqota::fleet::postgres
