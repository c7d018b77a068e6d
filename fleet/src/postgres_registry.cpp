// The PostgreSQL registry: opening, devices, events and images. Campaigns
// are postgres_campaigns.cpp. The schema is postgres_schema.cpp and
// docs/spec/fleet-registry.md#postgresql. The statements are SQLite's
// (sqlite_registry.cpp) in PostgreSQL's dialect: $1 for ?1, GREATEST for
// MAX, booleans for 0/1, RETURNING for last_insert_rowid().
#include "mqota/fleet/postgres_registry.h"

#include <algorithm>
#include <cctype>
#include <numeric>
#include <set>

#include "postgres_registry_impl.h"
#include "postgres_schema.h"
#include "versions.h"

namespace mqota::fleet {
namespace {

using postgres::Connection;
using postgres::Query;

DeviceEvent EventFromRow(const Query& q, const std::string& db) {
  DeviceEvent event;
  event.id = q.Int(0);
  event.time = q.Int(1);
  event.device = q.Text(2);
  const std::string kind = q.Text(3);
  const auto parsed = ParseEventKind(kind);
  if (!parsed) {
    throw RegistryError(db + ": event " + std::to_string(event.id) + " has the unknown kind \"" +
                        kind + "\"");
  }
  event.kind = *parsed;
  event.version = q.Text(4);
  event.campaign = q.OptionalInt(5);
  if (const auto percent = q.OptionalInt(6)) event.percent = static_cast<uint8_t>(*percent);
  event.reason = q.Text(7);
  event.verified = q.Bool(8);
  return event;
}

Image ImageFromRow(const Query& q) {
  Image image;
  image.id = q.Int(0);
  image.board = q.Text(1);
  image.version = q.Text(2);
  image.sha256 = q.Text(3);
  image.size = static_cast<uint64_t>(q.Int(4));
  image.path = q.Text(5);
  image.added = q.Int(6);
  image.key_hash = q.Text(7);
  return image;
}

constexpr const char* kDeviceColumns =
    "SELECT d.id, d.board, d.version, d.image_hash, d.state, d.verified, d.online, "
    "d.first_seen, d.last_seen FROM devices d";
constexpr const char* kImageColumns =
    "SELECT id, board, version, sha256, size, path, added, key_hash FROM images";

Device DeviceFromRow(const Query& q) {
  Device device;
  device.id = q.Text(0);
  device.board = q.Text(1);
  device.version = q.Text(2);
  device.image_hash = q.Text(3);
  device.state = q.Text(4);
  device.verified = q.Bool(5);
  device.online = q.Bool(6);
  device.first_seen = q.Int(7);
  device.last_seen = q.Int(8);
  return device;
}

std::string Lowercase(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

}  // namespace

bool IsPostgresUrl(const std::string& db) {
  return db.starts_with("postgresql://") || db.starts_with("postgres://");
}

std::unique_ptr<PostgresRegistry> OpenPostgresRegistry(const std::string& url) {
  Connection db = Connection::Open(url);
  postgres::Migrate(db);
  return std::make_unique<postgres::PostgresRegistryImpl>(url, std::move(db),
                                                          postgres::kConnectionsPerRegistry);
}

namespace postgres {

PostgresSettings PostgresRegistryImpl::Settings() {
  return Read([&] {
    PostgresSettings settings;
    settings.server_version = db().Setting("server_version");
    settings.synchronous_commit = db().Setting("synchronous_commit");
    settings.fsync = db().Setting("fsync");
    settings.schema_version = SchemaVersion(db());
    return settings;
  });
}

bool PostgresRegistryImpl::DeviceExists(const std::string& device, RowLock lock) {
  Query q = db().Prepare(lock == RowLock::kForUpdate
                             ? "SELECT 1 FROM devices WHERE id = $1 FOR NO KEY UPDATE"
                             : "SELECT 1 FROM devices WHERE id = $1");
  return q.Bind(device).Step();
}

bool PostgresRegistryImpl::NewestReportIs(const std::string& device, const std::string& version,
                                          const std::string& kind) {
  Query q = db().Prepare(
      "SELECT kind FROM events WHERE device = $1 AND version = $2 AND kind <> 'downloading' "
      "ORDER BY time DESC, id DESC LIMIT 1");
  return q.BindAll(device, version).Step() && q.Text(0) == kind;
}

std::vector<std::string> PostgresRegistryImpl::TagsOf(const std::string& device) {
  // COLLATE "C": byte order, as SQLite's BINARY, whatever the database's
  // collation; the same for every ORDER BY of text below.
  Query q =
      db().Prepare("SELECT tag FROM device_tags WHERE device = $1 ORDER BY tag COLLATE \"C\"");
  q.Bind(device);
  std::vector<std::string> tags;
  while (q.Step()) tags.push_back(q.Text(0));
  return tags;
}

void PostgresRegistryImpl::SeeDevice(const DeviceSighting& sighting) {
  if (sighting.device.empty()) throw RegistryRefusal("a device sighting needs a device id");
  Write([&] {
    // Empty board, version or hash: the message did not say; keep what is
    // known, except a hash that belonged to another version. `verified`
    // once set stays set. One statement: two servers seeing one device
    // cannot interleave.
    db().Prepare(
            "INSERT INTO devices (id, board, version, image_hash, verified, first_seen, last_seen) "
            "VALUES ($1, $2, $3, $4, $5, $6, $6) "
            "ON CONFLICT (id) DO UPDATE SET "
            "board = CASE WHEN excluded.board = '' THEN devices.board ELSE excluded.board END, "
            "version = CASE WHEN excluded.version = '' THEN devices.version "
            "ELSE excluded.version END, "
            "image_hash = CASE WHEN excluded.image_hash <> '' THEN excluded.image_hash "
            "WHEN excluded.version <> '' AND excluded.version <> devices.version THEN '' "
            "ELSE devices.image_hash END, "
            "verified = devices.verified OR excluded.verified, "
            "last_seen = GREATEST(devices.last_seen, excluded.last_seen)")
        .BindAll(sighting.device, sighting.board,
                 sighting.version.empty() ? "" : StoredVersion(sighting.version),
                 Lowercase(sighting.image_hash), sighting.verified, sighting.time)
        .Run();
  });
}

void PostgresRegistryImpl::SetOnline(const std::string& device, bool online, TimeMs time) {
  Write([&] {
    db().Prepare(
            "UPDATE devices SET online = $2, last_seen = GREATEST(last_seen, $3) WHERE id = $1")
        .BindAll(device, online, time)
        .Run();
  });
}

void PostgresRegistryImpl::SetTags(const std::string& device,
                                   const std::vector<std::string>& tags) {
  for (const std::string& tag : tags) {
    if (tag.empty()) throw RegistryRefusal("a tag must not be empty");
  }
  Write([&] {
    // The device's row locked: two servers replacing its tags take turns.
    Query exists = db().Prepare("SELECT 1 FROM devices WHERE id = $1 FOR NO KEY UPDATE");
    if (!exists.Bind(device).Step()) throw RegistryRefusal("no device " + device);
    db().Prepare("DELETE FROM device_tags WHERE device = $1").Bind(device).Run();
    for (const std::string& tag : std::set<std::string>(tags.begin(), tags.end())) {
      db().Prepare("INSERT INTO device_tags (device, tag) VALUES ($1, $2)")
          .BindAll(device, tag)
          .Run();
    }
  });
}

std::optional<Device> PostgresRegistryImpl::FindDevice(const std::string& device) {
  return Read([&]() -> std::optional<Device> {
    std::optional<Device> found;
    {
      Query q = db().Prepare(std::string(kDeviceColumns) + " WHERE d.id = $1");
      if (!q.Bind(device).Step()) return std::nullopt;
      found = DeviceFromRow(q);
    }
    found->tags = TagsOf(found->id);
    return found;
  });
}

std::vector<Device> PostgresRegistryImpl::ListDevices(const DeviceFilter& filter) {
  // Only the conditions asked for, so each variant uses its index; the
  // statement's text is fixed fragments, the values are parameters.
  std::string sql = kDeviceColumns;
  std::string where;
  int parameters = 0;
  const auto add = [&](const std::string& condition) {
    where += where.empty() ? " WHERE " : " AND ";
    where += condition;
  };
  const auto next = [&] { return "$" + std::to_string(++parameters); };
  if (!filter.board.empty()) add("d.board = " + next());
  if (!filter.tag.empty()) {
    add("EXISTS (SELECT 1 FROM device_tags t WHERE t.device = d.id AND t.tag = " + next() + ")");
  }
  if (!filter.version.empty()) add("d.version = " + next());
  sql += where + " ORDER BY d.id COLLATE \"C\" LIMIT " + next();
  sql += " OFFSET " + next();
  return Read([&] {
    std::vector<Device> devices;
    {
      Query q = db().Prepare(sql);
      if (!filter.board.empty()) q.Bind(filter.board);
      if (!filter.tag.empty()) q.Bind(filter.tag);
      if (!filter.version.empty()) q.Bind(StoredVersion(filter.version));
      q.BindAll(int64_t{filter.limit}, int64_t{filter.offset});
      while (q.Step()) devices.push_back(DeviceFromRow(q));
    }
    for (Device& device : devices) device.tags = TagsOf(device.id);
    return devices;
  });
}

std::vector<DeviceEvent> PostgresRegistryImpl::History(const std::string& device, uint32_t limit) {
  return Read([&] {
    Query q = db().Prepare(
        "SELECT id, time, device, kind, version, campaign, percent, reason, verified "
        "FROM events WHERE device = $1 ORDER BY time DESC, id DESC LIMIT $2");
    q.BindAll(device, int64_t{limit});
    std::vector<DeviceEvent> events;
    while (q.Step()) events.push_back(EventFromRow(q, db().name()));
    return events;
  });
}

bool PostgresRegistryImpl::Barred(const std::string& device, const std::string& version) {
  return Read([&] {
    // The kinds are BarsVersion's, written as in the partial index
    // events_barring so that the planner can use it.
    Query q = db().Prepare(
        "SELECT 1 FROM events WHERE device = $1 AND version = $2 "
        "AND kind IN ('reverted', 'rejected', 'refused') LIMIT 1");
    return q.BindAll(device, StoredVersion(version)).Step();
  });
}

RecordedEvent PostgresRegistryImpl::Record(const DeviceEvent& event) {
  return Write([&] { return RecordLocked(event); });
}

std::vector<RecordOutcome> PostgresRegistryImpl::RecordAll(std::span<const DeviceEvent> events) {
  // Device by device (each device's events in their order): every batch,
  // from any thread or server, then locks the devices' rows in one order,
  // so two batches that share devices wait for each other instead of
  // deadlocking (in the order they came, a batch holding A and wanting B
  // met one holding B and wanting A, over and over, with several servers).
  std::vector<size_t> order(events.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return events[a].device < events[b].device; });
  return Write([&] {
    std::vector<RecordOutcome> outcomes(events.size());
    for (const size_t i : order) {
      // A savepoint per event: a refused one leaves nothing behind (and,
      // should a statement have failed, un-aborts the transaction), the
      // others stay in it.
      db().Execute("SAVEPOINT event");
      try {
        outcomes[i].recorded = RecordLocked(events[i]);
        db().Execute("RELEASE SAVEPOINT event");
      } catch (const RegistryRefusal& refusal) {
        db().Execute("ROLLBACK TO SAVEPOINT event");
        db().Execute("RELEASE SAVEPOINT event");
        outcomes[i].refusal = refusal.what();
      }
    }
    return outcomes;
  });
}

RecordedEvent PostgresRegistryImpl::RecordLocked(const DeviceEvent& event) {
  const std::string version = StoredVersion(event.version);
  const std::string kind(EventKindName(event.kind));
  if (!DeviceExists(event.device, event.unless_repeated ? RowLock::kForUpdate : RowLock::kNone)) {
    throw RegistryRefusal("no device " + event.device);
  }
  // The device's row is locked (above): another server recording the same
  // report waits here, then finds this one's.
  if (event.unless_repeated && NewestReportIs(event.device, version, kind)) {
    return RecordedEvent{0, true, std::nullopt};
  }
  // The campaign it belongs to, and whether that campaign is live (its
  // tallies still matter: running, or paused or halted and to be resumed)
  // and is rolling out this very version.
  std::optional<int64_t> campaign = event.campaign;
  bool moves_stage = false;
  if (campaign) {
    Query q = db().Prepare(
        "SELECT c.status IN ('running', 'paused', 'halted') AND i.version = $2 "
        "FROM campaigns c JOIN images i ON i.id = c.image WHERE c.id = $1");
    if (!q.BindAll(*campaign, version).Step()) {
      throw RegistryRefusal("no campaign " + std::to_string(*campaign));
    }
    moves_stage = q.Bool(0);
  } else {
    Query q = db().Prepare(
        "SELECT c.id FROM campaign_devices cd "
        "JOIN campaigns c ON c.id = cd.campaign JOIN images i ON i.id = c.image "
        "WHERE cd.device = $1 AND i.version = $2 "
        "AND c.status IN ('running', 'paused', 'halted') ORDER BY c.id DESC LIMIT 1");
    if (q.BindAll(event.device, version).Step()) {
      campaign = q.Int(0);
      moves_stage = true;
    }
  }
  std::optional<int64_t> percent;
  if (event.percent) percent = *event.percent;
  RecordedEvent recorded;
  {
    Query q = db().Prepare(
        "INSERT INTO events (time, device, kind, version, campaign, percent, reason, verified) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id");
    q.BindAll(event.time, event.device, kind, version, campaign, percent, event.reason,
              event.verified);
    q.Step();
    recorded.id = q.Int(0);
  }
  // Workers (and servers) record in the order they finish, not the order
  // things happened: the state follows the newest event by time. The
  // UPDATE locks the row and reads it as committed: no event is lost to a
  // concurrent one.
  db().Prepare(
          "UPDATE devices SET last_seen = GREATEST(last_seen, $3), "
          "state = CASE WHEN $3 >= state_time THEN $2 ELSE state END, "
          "state_time = GREATEST(state_time, $3) WHERE id = $1")
      .BindAll(event.device, kind, event.time)
      .Run();
  if (!moves_stage) return recorded;

  std::optional<Stage> stage;
  {
    // Locked: another server's event for this device waits, then moves on
    // from the stage this one leaves. (The devices UPDATE above already
    // makes a device's events take turns; this lock says so where it
    // matters, and holds should that statement move.)
    Query q = db().Prepare(
        "SELECT stage FROM campaign_devices WHERE campaign = $1 AND device = $2 "
        "FOR NO KEY UPDATE");
    if (!q.BindAll(*campaign, event.device).Step()) return recorded;  // not one of its devices
    stage = ParseStage(q.Text(0));
  }
  if (!stage) throw RegistryError(db().name() + ": a campaign device has an unknown stage");
  const std::optional<Stage> next = StageAfter(*stage, event.kind);
  // Any news of the image's version refreshes updated_at: an offer with
  // recent news still holds its in-flight slot.
  db().Prepare(
          "UPDATE campaign_devices SET stage = $3, "
          "updated_at = GREATEST(COALESCE(updated_at, $4), $4), "
          "first_offered_at = CASE WHEN $5 THEN COALESCE(first_offered_at, $4) "
          "ELSE first_offered_at END "
          "WHERE campaign = $1 AND device = $2")
      .BindAll(*campaign, event.device, std::string(StageName(next.value_or(*stage))), event.time,
               *stage == Stage::kWaiting && next.has_value())
      .Run();
  if (next) recorded.campaign_changed = campaign;
  return recorded;
}

std::optional<Image> PostgresRegistryImpl::SelectImage(int64_t id) {
  Query q = db().Prepare(std::string(kImageColumns) + " WHERE id = $1");
  if (!q.Bind(id).Step()) return std::nullopt;
  return ImageFromRow(q);
}

int64_t PostgresRegistryImpl::AddImage(const Image& image) {
  if (image.board.empty()) throw RegistryRefusal("an image needs a board");
  const auto version = CanonicalVersion(image.version);
  if (!version) {
    throw RegistryRefusal("\"" + image.version + "\" is not a version (major.minor.revision)");
  }
  if (image.sha256.empty()) throw RegistryRefusal("an image needs its SHA-256");
  const std::string sha256 = Lowercase(image.sha256);
  const std::string key_hash = Lowercase(image.key_hash);
  return Write([&]() -> int64_t {
    // Twice at most: when another server adds the same board and version
    // between the look and the insert, the insert does nothing and the
    // second look (a new statement: it sees that commit) finds its row.
    for (int attempt = 0; attempt < 2; ++attempt) {
      {
        Query q = db().Prepare(
            "SELECT id, sha256, key_hash FROM images WHERE board = $1 AND version = $2");
        if (q.BindAll(image.board, *version).Step()) {
          if (q.Text(1) == sha256) {
            const int64_t id = q.Int(0);
            // The same image, its key now known (or re-signed: the SHA256
            // TLV does not cover the signature).
            if (!key_hash.empty() && q.Text(2) != key_hash) {
              db().Prepare("UPDATE images SET key_hash = $2 WHERE id = $1")
                  .BindAll(id, key_hash)
                  .Run();
            }
            return id;
          }
          throw RegistryRefusal("board " + image.board + " already has an image of version " +
                                *version + " (SHA-256 " + q.Text(1) +
                                "); another image cannot take its version");
        }
      }
      Query q = db().Prepare(
          "INSERT INTO images (board, version, sha256, size, path, added, key_hash) "
          "VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (board, version) DO NOTHING "
          "RETURNING id");
      q.BindAll(image.board, *version, sha256, static_cast<int64_t>(image.size), image.path,
                image.added, key_hash);
      if (q.Step()) return q.Int(0);
    }
    throw RegistryError(db().name() + ": the image of board " + image.board + " version " +
                        *version + " was neither found nor added");
  });
}

std::vector<Image> PostgresRegistryImpl::ListImages() {
  return Read([&] {
    Query q = db().Prepare(std::string(kImageColumns) + " ORDER BY id");
    std::vector<Image> images;
    while (q.Step()) images.push_back(ImageFromRow(q));
    return images;
  });
}

std::optional<Image> PostgresRegistryImpl::FindImage(int64_t id) {
  return Read([&] { return SelectImage(id); });
}

}  // namespace postgres
}  // namespace mqota::fleet
