// The SQLite registry: opening, devices, events and images. Campaigns are
// sqlite_campaigns.cpp. The schema is sqlite_schema.cpp and
// docs/spec/fleet-registry.md#tables.
#include "mqota/fleet/sqlite_registry.h"

#include <algorithm>
#include <cctype>
#include <set>
#include <system_error>

#include "sqlite_registry_impl.h"
#include "sqlite_schema.h"
#include "versions.h"

namespace mqota::fleet {
namespace {

namespace fs = std::filesystem;
using sqlite::Database;
using sqlite::Query;

// The connection's settings (docs/spec/fleet-registry.md#opening). WAL is a
// property of the file; the others are of this connection, set every time.
void Configure(Database& db) {
  const std::string mode = db.PragmaText("journal_mode = WAL");
  if (mode != "wal") {
    throw RegistryError(db.name() + ": cannot switch to write-ahead logging (journal mode " + mode +
                        ")");
  }
  db.Execute("PRAGMA synchronous = FULL");
  db.Execute("PRAGMA foreign_keys = ON");
}

// A write lock taken and given back: a file or directory that cannot be
// written fails here, at start-up, rather than at the first event.
void ProbeWrite(Database& db) { sqlite::Transaction probe(db); }

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
  event.verified = q.Int(8) != 0;
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
  device.verified = q.Int(5) != 0;
  device.online = q.Int(6) != 0;
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

std::unique_ptr<SqliteRegistry> OpenSqliteRegistry(const fs::path& db,
                                                   const SqliteOptions& options) {
  const fs::path directory = db.parent_path().empty() ? fs::path(".") : db.parent_path();
  std::error_code ec;
  if (!fs::is_directory(directory, ec)) {
    throw RegistryError(db.string() + ": the directory " + directory.string() + " does not exist");
  }
  // First the lock: a second server must not even migrate the schema.
  InstanceLock lock = InstanceLock::Acquire(db);
  Database database = Database::Open(db, {options.busy_timeout});
  // SQLite opens a file it cannot write read-only, quietly.
  if (database.ReadOnly()) throw RegistryError(db.string() + ": the file is read-only");
  // The first statement reads the file: "file is not a database" comes here.
  Configure(database);
  ProbeWrite(database);
  sqlite::Migrate(database);
  return std::make_unique<sqlite::SqliteRegistryImpl>(std::move(lock), std::move(database));
}

namespace sqlite {

SqliteSettings SqliteRegistryImpl::Settings() {
  std::lock_guard<std::mutex> hold(mutex_);
  SqliteSettings settings;
  settings.journal_mode = db_.PragmaText("journal_mode");
  settings.synchronous = db_.PragmaInt("synchronous");
  settings.foreign_keys = db_.PragmaInt("foreign_keys") != 0;
  settings.busy_timeout_ms = db_.PragmaInt("busy_timeout");
  settings.schema_version = db_.PragmaInt("user_version");
  return settings;
}

bool SqliteRegistryImpl::DeviceExists(const std::string& device) {
  Query q = db_.Prepare("SELECT 1 FROM devices WHERE id = ?1");
  return q.Bind(1, device).Step();
}

std::vector<std::string> SqliteRegistryImpl::TagsOf(const std::string& device) {
  Query q = db_.Prepare("SELECT tag FROM device_tags WHERE device = ?1 ORDER BY tag");
  q.Bind(1, device);
  std::vector<std::string> tags;
  while (q.Step()) tags.push_back(q.Text(0));
  return tags;
}

void SqliteRegistryImpl::SeeDevice(const DeviceSighting& sighting) {
  if (sighting.device.empty()) throw RegistryRefusal("a device sighting needs a device id");
  Write([&] {
    // Empty board, version or hash: the message did not say; keep what is
    // known, except a hash that belonged to another version. `verified`
    // once set stays set.
    db_.Prepare(
           "INSERT INTO devices (id, board, version, image_hash, verified, first_seen, last_seen) "
           "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6) "
           "ON CONFLICT (id) DO UPDATE SET "
           "board = CASE WHEN excluded.board = '' THEN board ELSE excluded.board END, "
           "version = CASE WHEN excluded.version = '' THEN version ELSE excluded.version END, "
           "image_hash = CASE WHEN excluded.image_hash <> '' THEN excluded.image_hash "
           "WHEN excluded.version <> '' AND excluded.version <> version THEN '' "
           "ELSE image_hash END, "
           "verified = verified OR excluded.verified, "
           "last_seen = MAX(last_seen, excluded.last_seen)")
        .BindAll(sighting.device, sighting.board,
                 sighting.version.empty() ? "" : StoredVersion(sighting.version),
                 Lowercase(sighting.image_hash), int64_t{sighting.verified}, sighting.time)
        .Run();
  });
}

void SqliteRegistryImpl::SetOnline(const std::string& device, bool online, TimeMs time) {
  Write([&] {
    db_.Prepare("UPDATE devices SET online = ?2, last_seen = MAX(last_seen, ?3) WHERE id = ?1")
        .BindAll(device, int64_t{online}, time)
        .Run();
  });
}

void SqliteRegistryImpl::SetTags(const std::string& device, const std::vector<std::string>& tags) {
  for (const std::string& tag : tags) {
    if (tag.empty()) throw RegistryRefusal("a tag must not be empty");
  }
  Write([&] {
    if (!DeviceExists(device)) throw RegistryRefusal("no device " + device);
    db_.Prepare("DELETE FROM device_tags WHERE device = ?1").Bind(1, device).Run();
    for (const std::string& tag : std::set<std::string>(tags.begin(), tags.end())) {
      db_.Prepare("INSERT INTO device_tags (device, tag) VALUES (?1, ?2)")
          .BindAll(device, tag)
          .Run();
    }
  });
}

std::optional<Device> SqliteRegistryImpl::FindDevice(const std::string& device) {
  return Read([&]() -> std::optional<Device> {
    Query q = db_.Prepare(std::string(kDeviceColumns) + " WHERE d.id = ?1");
    if (!q.Bind(1, device).Step()) return std::nullopt;
    Device found = DeviceFromRow(q);
    found.tags = TagsOf(found.id);
    return found;
  });
}

std::vector<Device> SqliteRegistryImpl::ListDevices(const DeviceFilter& filter) {
  // Only the conditions asked for, so each variant uses its index.
  std::string sql = kDeviceColumns;
  std::string where;
  const auto add = [&](const char* condition) {
    where += where.empty() ? " WHERE " : " AND ";
    where += condition;
  };
  if (!filter.board.empty()) add("d.board = ?1");
  if (!filter.tag.empty()) {
    add("EXISTS (SELECT 1 FROM device_tags t WHERE t.device = d.id AND t.tag = ?2)");
  }
  if (!filter.version.empty()) add("d.version = ?3");
  sql += where + " ORDER BY d.id LIMIT ?4 OFFSET ?5";
  return Read([&] {
    std::vector<Device> devices;
    {
      Query q = db_.Prepare(sql);
      if (!filter.board.empty()) q.Bind(1, filter.board);
      if (!filter.tag.empty()) q.Bind(2, filter.tag);
      if (!filter.version.empty()) q.Bind(3, StoredVersion(filter.version));
      q.Bind(4, int64_t{filter.limit}).Bind(5, int64_t{filter.offset});
      while (q.Step()) devices.push_back(DeviceFromRow(q));
    }
    for (Device& device : devices) device.tags = TagsOf(device.id);
    return devices;
  });
}

std::vector<DeviceEvent> SqliteRegistryImpl::History(const std::string& device, uint32_t limit) {
  return Read([&] {
    Query q = db_.Prepare(
        "SELECT id, time, device, kind, version, campaign, percent, reason, verified "
        "FROM events WHERE device = ?1 ORDER BY time DESC, id DESC LIMIT ?2");
    q.BindAll(device, int64_t{limit});
    std::vector<DeviceEvent> events;
    while (q.Step()) events.push_back(EventFromRow(q, db_.name()));
    return events;
  });
}

bool SqliteRegistryImpl::Barred(const std::string& device, const std::string& version) {
  return Read([&] {
    // The kinds are BarsVersion's, written as in the partial index
    // events_barring so that SQLite uses it.
    Query q = db_.Prepare(
        "SELECT 1 FROM events WHERE device = ?1 AND version = ?2 "
        "AND kind IN ('reverted', 'rejected', 'refused') LIMIT 1");
    return q.BindAll(device, StoredVersion(version)).Step();
  });
}

RecordedEvent SqliteRegistryImpl::Record(const DeviceEvent& event) {
  return Write([&] { return RecordLocked(event); });
}

std::vector<RecordOutcome> SqliteRegistryImpl::RecordAll(std::span<const DeviceEvent> events) {
  return Write([&] {
    std::vector<RecordOutcome> outcomes(events.size());
    for (size_t i = 0; i < events.size(); ++i) {
      // A savepoint per event: a refused one leaves nothing behind, the
      // others stay in the transaction.
      db_.Execute("SAVEPOINT event");
      try {
        outcomes[i].recorded = RecordLocked(events[i]);
        db_.Execute("RELEASE event");
      } catch (const RegistryRefusal& refusal) {
        db_.Execute("ROLLBACK TO event");
        db_.Execute("RELEASE event");
        outcomes[i].refusal = refusal.what();
      }
    }
    return outcomes;
  });
}

bool SqliteRegistryImpl::NewestReportIs(const std::string& device, const std::string& version,
                                        const std::string& kind) {
  Query q = db_.Prepare(
      "SELECT kind FROM events WHERE device = ?1 AND version = ?2 AND kind <> 'downloading' "
      "ORDER BY time DESC, id DESC LIMIT 1");
  return q.BindAll(device, version).Step() && q.Text(0) == kind;
}

RecordedEvent SqliteRegistryImpl::RecordLocked(const DeviceEvent& event) {
  const std::string version = StoredVersion(event.version);
  const std::string kind(EventKindName(event.kind));
  if (!DeviceExists(event.device)) throw RegistryRefusal("no device " + event.device);
  // One writer at a time: nothing can come between this check and the write.
  if (event.unless_repeated && NewestReportIs(event.device, version, kind)) {
    return RecordedEvent{0, true, std::nullopt};
  }
  // The campaign it belongs to, and whether that campaign is live (its
  // tallies still matter: running, or paused or halted and to be resumed)
  // and is rolling out this very version.
  std::optional<int64_t> campaign = event.campaign;
  bool moves_stage = false;
  if (campaign) {
    Query q = db_.Prepare(
        "SELECT c.status IN ('running', 'paused', 'halted') AND i.version = ?2 "
        "FROM campaigns c JOIN images i ON i.id = c.image WHERE c.id = ?1");
    if (!q.BindAll(*campaign, version).Step()) {
      throw RegistryRefusal("no campaign " + std::to_string(*campaign));
    }
    moves_stage = q.Int(0) != 0;
  } else {
    Query q = db_.Prepare(
        "SELECT c.id FROM campaign_devices cd "
        "JOIN campaigns c ON c.id = cd.campaign JOIN images i ON i.id = c.image "
        "WHERE cd.device = ?1 AND i.version = ?2 "
        "AND c.status IN ('running', 'paused', 'halted') ORDER BY c.id DESC LIMIT 1");
    if (q.BindAll(event.device, version).Step()) {
      campaign = q.Int(0);
      moves_stage = true;
    }
  }
  std::optional<int64_t> percent;
  if (event.percent) percent = *event.percent;
  db_.Prepare(
         "INSERT INTO events (time, device, kind, version, campaign, percent, reason, verified) "
         "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)")
      .BindAll(event.time, event.device, kind, version, campaign, percent, event.reason,
               int64_t{event.verified})
      .Run();
  RecordedEvent recorded;
  recorded.id = db_.LastInsertId();
  // Workers record in the order they finish, not the order things
  // happened: the state follows the newest event by time.
  db_.Prepare(
         "UPDATE devices SET last_seen = MAX(last_seen, ?3), "
         "state = CASE WHEN ?3 >= state_time THEN ?2 ELSE state END, "
         "state_time = MAX(state_time, ?3) WHERE id = ?1")
      .BindAll(event.device, kind, event.time)
      .Run();
  if (!moves_stage) return recorded;

  std::optional<Stage> stage;
  {
    Query q = db_.Prepare("SELECT stage FROM campaign_devices WHERE campaign = ?1 AND device = ?2");
    if (!q.BindAll(*campaign, event.device).Step()) return recorded;  // not one of its devices
    stage = ParseStage(q.Text(0));
  }
  if (!stage) throw RegistryError(db_.name() + ": a campaign device has an unknown stage");
  const std::optional<Stage> next = StageAfter(*stage, event.kind);
  // Any news of the image's version refreshes updated_at: an offer with
  // recent news still holds its in-flight slot.
  db_.Prepare(
         "UPDATE campaign_devices SET stage = ?3, "
         "updated_at = MAX(COALESCE(updated_at, ?4), ?4), "
         "first_offered_at = CASE WHEN ?5 THEN COALESCE(first_offered_at, ?4) "
         "ELSE first_offered_at END "
         "WHERE campaign = ?1 AND device = ?2")
      .BindAll(*campaign, event.device, StageName(next.value_or(*stage)), event.time,
               int64_t{*stage == Stage::kWaiting && next.has_value()})
      .Run();
  if (next) recorded.campaign_changed = campaign;
  return recorded;
}

std::optional<Image> SqliteRegistryImpl::SelectImage(int64_t id) {
  Query q = db_.Prepare(std::string(kImageColumns) + " WHERE id = ?1");
  if (!q.Bind(1, id).Step()) return std::nullopt;
  return ImageFromRow(q);
}

int64_t SqliteRegistryImpl::AddImage(const Image& image) {
  if (image.board.empty()) throw RegistryRefusal("an image needs a board");
  const auto version = CanonicalVersion(image.version);
  if (!version) {
    throw RegistryRefusal("\"" + image.version + "\" is not a version (major.minor.revision)");
  }
  if (image.sha256.empty()) throw RegistryRefusal("an image needs its SHA-256");
  const std::string sha256 = Lowercase(image.sha256);
  const std::string key_hash = Lowercase(image.key_hash);
  return Write([&] {
    {
      Query q =
          db_.Prepare("SELECT id, sha256, key_hash FROM images WHERE board = ?1 AND version = ?2");
      if (q.BindAll(image.board, *version).Step()) {
        if (q.Text(1) == sha256) {
          const int64_t id = q.Int(0);
          // The same image, its key now known (or re-signed: the SHA256 TLV
          // does not cover the signature).
          if (!key_hash.empty() && q.Text(2) != key_hash) {
            db_.Prepare("UPDATE images SET key_hash = ?2 WHERE id = ?1")
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
    db_.Prepare(
           "INSERT INTO images (board, version, sha256, size, path, added, key_hash) "
           "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")
        .BindAll(image.board, *version, sha256, static_cast<int64_t>(image.size), image.path,
                 image.added, key_hash)
        .Run();
    return db_.LastInsertId();
  });
}

std::vector<Image> SqliteRegistryImpl::ListImages() {
  return Read([&] {
    Query q = db_.Prepare(std::string(kImageColumns) + " ORDER BY id");
    std::vector<Image> images;
    while (q.Step()) images.push_back(ImageFromRow(q));
    return images;
  });
}

std::optional<Image> SqliteRegistryImpl::FindImage(int64_t id) {
  return Read([&] { return SelectImage(id); });
}

}  // namespace sqlite
}  // namespace mqota::fleet
