// The PostgreSQL registry's campaigns: creation, state, steps, commands,
// offers (docs/spec/fleet-registry.md#campaigns). The decisions themselves
// are the pure engine's (campaign.h); this file only loads its input and
// stores its answers, each call in one transaction.
//
// Decisions (ApplyStep, Advance, Control) read the campaign's row with
// CampaignLock::kForDecision: the row stays locked until the transaction
// commits, so two servers sharing the database take turns, and the second
// reads what the first decided (NextStep then says kNothing): each decision
// is taken once (docs/spec/fleet-registry.md#several-servers). Events keep
// flowing meanwhile: their foreign key takes a KEY SHARE lock, which a
// NO KEY UPDATE lock does not block.
#include "campaign_advance.h"
#include "campaign_json.h"
#include "campaign_targets.h"
#include "postgres_registry_impl.h"

namespace mqota::fleet::postgres {
namespace {

constexpr int64_t kMinuteMs = 60'000;

std::string NoCampaign(int64_t id) { return "no campaign " + std::to_string(id); }

// The stored names; anything else means a damaged database.
CampaignStatus StatusFromText(const std::string& text, const std::string& db) {
  const auto status = ParseCampaignStatus(text);
  if (!status) throw RegistryError(db + ": a campaign has the unknown status \"" + text + "\"");
  return *status;
}

Stage StageFromText(const std::string& text, const std::string& db) {
  const auto stage = ParseStage(text);
  if (!stage) {
    throw RegistryError(db + ": a campaign device has the unknown stage \"" + text + "\"");
  }
  return *stage;
}

std::string JoinEnds(const std::vector<uint32_t>& ends) {
  std::string text;
  for (uint32_t end : ends) text += (text.empty() ? "" : ", ") + std::to_string(end);
  return text;
}

}  // namespace

std::optional<CampaignRow> PostgresRegistryImpl::SelectCampaign(int64_t id, CampaignLock lock) {
  constexpr const char* kColumns =
      "SELECT id, name, image, target, rules, status, status_reason, wave_count, open_waves, "
      "gate_met_at, failures_accepted, created, updated FROM campaigns WHERE id = $1";
  Query q =
      db().Prepare(lock == CampaignLock::kForDecision ? std::string(kColumns) + " FOR NO KEY UPDATE"
                                                      : std::string(kColumns));
  if (!q.Bind(id).Step()) return std::nullopt;
  CampaignRow row;
  row.id = q.Int(0);
  row.name = q.Text(1);
  row.image = q.Int(2);
  try {
    row.target = TargetFromJson(q.Text(3));
    row.rules = RulesFromJson(q.Text(4));
  } catch (const RegistryError& e) {
    throw RegistryError(db().name() + ": campaign " + std::to_string(row.id) + ": " + e.what());
  }
  row.status = StatusFromText(q.Text(5), db().name());
  row.status_reason = q.Text(6);
  row.wave_count = static_cast<uint32_t>(q.Int(7));
  row.open_waves = static_cast<uint32_t>(q.Int(8));
  row.gate_met_at = q.OptionalInt(9);
  row.failures_accepted = static_cast<uint32_t>(q.Int(10));
  row.created = q.Int(11);
  row.updated = q.Int(12);
  return row;
}

CampaignRow PostgresRegistryImpl::RequireCampaign(int64_t id, CampaignLock lock) {
  auto row = SelectCampaign(id, lock);
  if (!row) throw RegistryRefusal(NoCampaign(id));
  return std::move(*row);
}

std::vector<WaveTally> PostgresRegistryImpl::Tallies(const CampaignRow& row) {
  std::vector<WaveTally> waves(row.wave_count);
  Query q = db().Prepare(
      "SELECT wave, stage, COUNT(*) FROM campaign_devices WHERE campaign = $1 "
      "GROUP BY wave, stage");
  q.Bind(row.id);
  while (q.Step()) {
    const auto wave = static_cast<size_t>(q.Int(0));
    if (wave >= waves.size()) {
      throw RegistryError(db().name() + ": campaign " + std::to_string(row.id) +
                          " has a device beyond its last wave");
    }
    const auto count = static_cast<uint32_t>(q.Int(2));
    WaveTally& tally = waves[wave];
    tally.devices += count;
    switch (StageFromText(q.Text(1), db().name())) {
      case Stage::kWaiting: break;
      case Stage::kOffered: tally.offered += count; break;
      case Stage::kConfirmed: tally.confirmed += count; break;
      case Stage::kFailed: tally.failed += count; break;
    }
  }
  return waves;
}

CampaignState PostgresRegistryImpl::StateOf(const CampaignRow& row, TimeMs now) {
  CampaignState state;
  state.rules = row.rules;
  state.status = row.status;
  state.open_waves = row.open_waves;
  state.gate_met_at = row.gate_met_at;
  state.failures_accepted = row.failures_accepted;
  state.waves = Tallies(row);
  {
    Query q = db().Prepare(
        "SELECT COUNT(*) FROM campaign_devices "
        "WHERE campaign = $1 AND stage = 'offered' AND updated_at > $2");
    q.BindAll(row.id, now - row.rules.stall_ms).Step();
    state.in_flight = static_cast<uint32_t>(q.Int(0));
  }
  {
    Query q = db().Prepare(
        "SELECT COUNT(*) FROM campaign_devices WHERE campaign = $1 AND first_offered_at > $2");
    q.BindAll(row.id, now - kMinuteMs).Step();
    state.starts_last_minute = static_cast<uint32_t>(q.Int(0));
  }
  return state;
}

Campaign PostgresRegistryImpl::CampaignOfRow(const CampaignRow& row) {
  Campaign campaign;
  campaign.id = row.id;
  campaign.name = row.name;
  auto image = SelectImage(row.image);
  if (!image)
    throw RegistryError(db().name() + ": campaign " + std::to_string(row.id) + " has no image");
  campaign.image = std::move(*image);
  campaign.target = row.target;
  campaign.rules = row.rules;
  campaign.status = row.status;
  campaign.open_waves = row.open_waves;
  campaign.gate_met_at = row.gate_met_at;
  campaign.failures_accepted = row.failures_accepted;
  campaign.status_reason = row.status_reason;
  campaign.waves = Tallies(row);
  campaign.created = row.created;
  campaign.updated = row.updated;
  return campaign;
}

void PostgresRegistryImpl::AppendLog(int64_t campaign, TimeMs time, std::string_view action,
                                     std::string_view reason) {
  db().Prepare("INSERT INTO campaign_log (campaign, time, action, reason) VALUES ($1, $2, $3, $4)")
      .BindAll(campaign, time, action, reason)
      .Run();
}

int64_t PostgresRegistryImpl::CreateCampaign(const NewCampaign& campaign) {
  return Write([&] {
    const auto image = SelectImage(campaign.image);
    if (!image) throw RegistryRefusal("no image " + std::to_string(campaign.image));
    const CampaignTarget target = CheckNewCampaign(campaign, *image);
    // The row first: the campaign's order hashes its id. A refusal below
    // rolls it back with everything else.
    int64_t id = 0;
    {
      Query q = db().Prepare(
          "INSERT INTO campaigns (name, image, target, rules, status, wave_count, open_waves, "
          "created, updated) VALUES ($1, $2, $3::jsonb, $4::jsonb, 'running', 0, 1, $5, $5) "
          "RETURNING id");
      q.BindAll(campaign.name, image->id, TargetToJson(target), RulesToJson(campaign.rules),
                campaign.time);
      q.Step();
      id = q.Int(0);
    }

    std::vector<TargetCandidate> candidates;
    {
      Query q = db().Prepare(
          "SELECT d.id, d.version, "
          "$2 = '' OR EXISTS (SELECT 1 FROM device_tags t WHERE t.device = d.id AND t.tag = $2), "
          "EXISTS (SELECT 1 FROM events e WHERE e.device = d.id AND e.version = $3 "
          "AND e.kind IN ('reverted', 'rejected', 'refused')) "
          "FROM devices d WHERE d.board = $1 ORDER BY d.id COLLATE \"C\"");
      q.BindAll(target.board, target.tag, image->version);
      while (q.Step()) candidates.push_back({q.Text(0), q.Text(1), q.Bool(2), q.Bool(3)});
    }
    const CampaignPlan plan = PlanCampaign(id, target, *image, campaign.rules.waves, candidates);

    db().Prepare("UPDATE campaigns SET wave_count = $2 WHERE id = $1")
        .BindAll(id, static_cast<int64_t>(plan.wave_ends.size()))
        .Run();
    for (const PlacedDevice& placed : plan.devices) {
      db().Prepare(
              "INSERT INTO campaign_devices (campaign, device, position, wave, stage) "
              "VALUES ($1, $2, $3, $4, 'waiting')")
          .BindAll(id, placed.device, int64_t{placed.position}, int64_t{placed.wave})
          .Run();
    }
    AppendLog(id, campaign.time, "created",
              std::to_string(plan.devices.size()) + " devices of board " + target.board + " in " +
                  std::to_string(plan.wave_ends.size()) + " waves ending at device " +
                  JoinEnds(plan.wave_ends) + "; image " + image->version);
    return id;
  });
}

std::vector<Campaign> PostgresRegistryImpl::ListCampaigns() {
  return Read([&] {
    std::vector<int64_t> ids;
    {
      Query q = db().Prepare("SELECT id FROM campaigns ORDER BY id DESC");
      while (q.Step()) ids.push_back(q.Int(0));
    }
    std::vector<Campaign> campaigns;
    campaigns.reserve(ids.size());
    for (int64_t id : ids) campaigns.push_back(CampaignOfRow(RequireCampaign(id)));
    return campaigns;
  });
}

std::optional<Campaign> PostgresRegistryImpl::FindCampaign(int64_t id) {
  return Read([&]() -> std::optional<Campaign> {
    const auto row = SelectCampaign(id);
    if (!row) return std::nullopt;
    return CampaignOfRow(*row);
  });
}

std::vector<CampaignLogEntry> PostgresRegistryImpl::CampaignLog(int64_t id) {
  return Read([&] {
    RequireCampaign(id);
    Query q = db().Prepare(
        "SELECT time, action, reason FROM campaign_log WHERE campaign = $1 ORDER BY id");
    q.Bind(id);
    std::vector<CampaignLogEntry> log;
    while (q.Step()) log.push_back({q.Int(0), q.Text(1), q.Text(2)});
    return log;
  });
}

std::vector<CampaignDevice> PostgresRegistryImpl::CampaignDevices(int64_t id) {
  return Read([&] {
    RequireCampaign(id);
    Query q = db().Prepare(
        "SELECT device, position, wave, stage, first_offered_at, updated_at "
        "FROM campaign_devices WHERE campaign = $1 ORDER BY position");
    q.Bind(id);
    std::vector<CampaignDevice> devices;
    while (q.Step()) {
      devices.push_back({q.Text(0), static_cast<uint32_t>(q.Int(1)),
                         static_cast<uint32_t>(q.Int(2)), StageFromText(q.Text(3), db().name()),
                         q.OptionalInt(4), q.OptionalInt(5)});
    }
    return devices;
  });
}

CampaignState PostgresRegistryImpl::LoadState(int64_t id, TimeMs now) {
  return Read([&] { return StateOf(RequireCampaign(id), now); });
}

void PostgresRegistryImpl::ApplyStepTo(const CampaignRow& row, const Step& step, TimeMs now) {
  if (step.kind == Step::kNothing) return;
  if (row.status != CampaignStatus::kRunning) {
    throw RegistryRefusal("campaign " + std::to_string(row.id) + " is " +
                          std::string(CampaignStatusName(row.status)) + ": no step applies to it");
  }
  const char* action = "";
  switch (step.kind) {
    case Step::kNothing: return;
    case Step::kGateMet:
      action = "gate met";
      db().Prepare("UPDATE campaigns SET gate_met_at = $2, updated = $2 WHERE id = $1")
          .BindAll(row.id, now)
          .Run();
      break;
    case Step::kOpenWave:
      if (row.open_waves >= row.wave_count) {
        throw RegistryRefusal("campaign " + std::to_string(row.id) + " has every wave open");
      }
      action = "wave opened";
      db().Prepare(
              "UPDATE campaigns SET open_waves = open_waves + 1, gate_met_at = NULL, "
              "updated = $2 WHERE id = $1")
          .BindAll(row.id, now)
          .Run();
      break;
    case Step::kHalt:
    case Step::kComplete:
      action = step.kind == Step::kHalt ? "halted" : "completed";
      db().Prepare(
              "UPDATE campaigns SET status = $2, status_reason = $3, updated = $4 WHERE id = $1")
          .BindAll(row.id, step.kind == Step::kHalt ? "halted" : "completed", step.reason, now)
          .Run();
      break;
  }
  AppendLog(row.id, now, action, step.reason);
}

void PostgresRegistryImpl::ApplyStep(int64_t id, const Step& step, TimeMs now) {
  Write([&] { ApplyStepTo(RequireCampaign(id, CampaignLock::kForDecision), step, now); });
}

std::vector<Step> PostgresRegistryImpl::Advance(int64_t id, TimeMs now) {
  return Write([&] {
    // The seam where campaigns are decided: the lock taken here is held
    // through every step until the commit.
    CampaignRow row = RequireCampaign(id, CampaignLock::kForDecision);
    return AdvanceCampaign(
        [&] {
          row = RequireCampaign(id, CampaignLock::kForDecision);
          return StateOf(row, now);
        },
        [&](const Step& step) { ApplyStepTo(row, step, now); }, now);
  });
}

Campaign PostgresRegistryImpl::Control(int64_t id, Command command, const std::string& who,
                                       TimeMs now) {
  return Write([&] {
    CampaignRow row = RequireCampaign(id, CampaignLock::kForDecision);
    std::string error;
    std::optional<CampaignStatus> next;
    const char* action = "";
    switch (command) {
      case Command::kPause:
        next = Pause(row.status, &error);
        action = "paused";
        break;
      case Command::kResume:
        next = Resume(row.status, &error);
        action = "resumed";
        break;
      case Command::kCancel:
        next = Cancel(row.status, &error);
        action = "cancelled";
        break;
    }
    if (!next) throw RegistryRefusal(error);
    std::string reason = std::string(action) + " by " + (who.empty() ? "an operator" : who);
    if (command == Command::kResume && row.status == CampaignStatus::kHalted) {
      // Resuming a halted campaign accepts the failures so far (they no
      // longer count towards the threshold), and restarts the soak: the
      // halt broke it (docs/spec/fleet-campaigns.md#steps).
      uint32_t failed = 0;
      const std::vector<WaveTally> waves = Tallies(row);
      for (uint32_t w = 0; w < row.open_waves && w < waves.size(); ++w) failed += waves[w].failed;
      row.failures_accepted = failed;
      row.gate_met_at.reset();
      reason += ", accepting the " + std::to_string(failed) + " failures so far";
    }
    db().Prepare(
            "UPDATE campaigns SET status = $2, status_reason = $3, failures_accepted = $4, "
            "gate_met_at = $5, updated = $6 WHERE id = $1")
        .BindAll(id, CampaignStatusName(*next), reason, int64_t{row.failures_accepted},
                 row.gate_met_at, now)
        .Run();
    AppendLog(id, now, action, reason);
    return CampaignOfRow(RequireCampaign(id));
  });
}

std::vector<int64_t> PostgresRegistryImpl::RunningCampaigns() {
  return Read([&] {
    Query q = db().Prepare("SELECT id FROM campaigns WHERE status = 'running' ORDER BY id");
    std::vector<int64_t> ids;
    while (q.Step()) ids.push_back(q.Int(0));
    return ids;
  });
}

std::optional<DeviceCampaign> PostgresRegistryImpl::CampaignOf(const std::string& device,
                                                               TimeMs now) {
  return Read([&]() -> std::optional<DeviceCampaign> {
    DeviceCampaign found;
    {
      Query q = db().Prepare(
          "SELECT cd.campaign, cd.wave, cd.stage FROM campaign_devices cd "
          "JOIN campaigns c ON c.id = cd.campaign "
          "WHERE cd.device = $1 AND c.status = 'running' ORDER BY c.id DESC LIMIT 1");
      if (!q.Bind(device).Step()) return std::nullopt;
      found.campaign = q.Int(0);
      found.wave = static_cast<uint32_t>(q.Int(1));
      found.stage = StageFromText(q.Text(2), db().name());
    }
    const CampaignRow row = RequireCampaign(found.campaign);
    auto image = SelectImage(row.image);
    if (!image)
      throw RegistryError(db().name() + ": campaign " + std::to_string(row.id) + " has no image");
    found.image = std::move(*image);
    found.state = StateOf(row, now);
    return found;
  });
}

std::vector<std::string> PostgresRegistryImpl::DevicesToNotify(int64_t campaign, uint32_t limit) {
  return Read([&] {
    const CampaignRow row = RequireCampaign(campaign);
    std::vector<std::string> devices;
    if (row.status != CampaignStatus::kRunning) return devices;
    // campaign_devices_by_stage gives the waiting devices in the
    // campaign's order, read until `limit` are found.
    Query q = db().Prepare(
        "SELECT cd.device FROM campaign_devices cd "
        "JOIN devices d ON d.id = cd.device "
        "WHERE cd.campaign = $1 AND cd.stage = 'waiting' AND cd.wave < $2 AND d.online "
        "ORDER BY cd.position LIMIT $3");
    q.BindAll(campaign, int64_t{row.open_waves}, int64_t{limit});
    while (q.Step()) devices.push_back(q.Text(0));
    return devices;
  });
}

}  // namespace mqota::fleet::postgres
