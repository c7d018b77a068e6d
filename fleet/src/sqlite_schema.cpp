#include "sqlite_schema.h"

#include <array>
#include <string>

#include "mqota/fleet/registry.h"

namespace mqota::fleet::sqlite {
namespace {

// Version 1. Every table, column and index is described, with what is kept in
// step with what, in docs/spec/fleet-registry.md#tables: change both together.
void CreateTables(Database& db) {
  db.Execute(R"sql(
CREATE TABLE devices (
  id          TEXT PRIMARY KEY,
  board       TEXT NOT NULL,
  version     TEXT NOT NULL DEFAULT '',
  image_hash  TEXT NOT NULL DEFAULT '',
  state       TEXT NOT NULL DEFAULT 'seen',
  state_time  INTEGER NOT NULL DEFAULT 0,
  verified    INTEGER NOT NULL DEFAULT 0,
  online      INTEGER NOT NULL DEFAULT 0,
  first_seen  INTEGER NOT NULL,
  last_seen   INTEGER NOT NULL
);
CREATE INDEX devices_by_board ON devices (board, version);

CREATE TABLE device_tags (
  device  TEXT NOT NULL REFERENCES devices (id),
  tag     TEXT NOT NULL,
  PRIMARY KEY (device, tag)
) WITHOUT ROWID;
CREATE INDEX device_tags_by_tag ON device_tags (tag, device);

CREATE TABLE images (
  id       INTEGER PRIMARY KEY,
  board    TEXT NOT NULL,
  version  TEXT NOT NULL,
  sha256   TEXT NOT NULL,
  size     INTEGER NOT NULL,
  path     TEXT NOT NULL,
  added    INTEGER NOT NULL,
  UNIQUE (board, version)
);

CREATE TABLE campaigns (
  id                 INTEGER PRIMARY KEY,
  name               TEXT NOT NULL,
  image              INTEGER NOT NULL REFERENCES images (id),
  target             TEXT NOT NULL,
  rules              TEXT NOT NULL,
  status             TEXT NOT NULL,
  status_reason      TEXT NOT NULL DEFAULT '',
  wave_count         INTEGER NOT NULL,
  open_waves         INTEGER NOT NULL,
  gate_met_at        INTEGER,
  failures_accepted  INTEGER NOT NULL DEFAULT 0,
  created            INTEGER NOT NULL,
  updated            INTEGER NOT NULL
);
CREATE INDEX campaigns_by_status ON campaigns (status);

CREATE TABLE campaign_devices (
  campaign          INTEGER NOT NULL REFERENCES campaigns (id),
  device            TEXT NOT NULL REFERENCES devices (id),
  position          INTEGER NOT NULL,
  wave              INTEGER NOT NULL,
  stage             TEXT NOT NULL,
  first_offered_at  INTEGER,
  updated_at        INTEGER,
  PRIMARY KEY (campaign, device),
  UNIQUE (campaign, position)
) WITHOUT ROWID;
CREATE INDEX campaign_devices_by_device ON campaign_devices (device);
CREATE INDEX campaign_devices_by_wave ON campaign_devices (campaign, wave, stage);
CREATE INDEX campaign_devices_by_stage ON campaign_devices (campaign, stage, position);
CREATE INDEX campaign_devices_by_start ON campaign_devices (campaign, first_offered_at);

CREATE TABLE events (
  id        INTEGER PRIMARY KEY AUTOINCREMENT,
  time      INTEGER NOT NULL,
  device    TEXT NOT NULL REFERENCES devices (id),
  kind      TEXT NOT NULL,
  version   TEXT NOT NULL,
  campaign  INTEGER REFERENCES campaigns (id),
  percent   INTEGER,
  reason    TEXT NOT NULL DEFAULT '',
  verified  INTEGER NOT NULL
);
CREATE INDEX events_by_device ON events (device, time, id);
CREATE INDEX events_barring ON events (device, version)
  WHERE kind IN ('reverted', 'rejected', 'refused');

CREATE TABLE campaign_log (
  id        INTEGER PRIMARY KEY AUTOINCREMENT,
  campaign  INTEGER NOT NULL REFERENCES campaigns (id),
  time      INTEGER NOT NULL,
  action    TEXT NOT NULL,
  reason    TEXT NOT NULL
);
CREATE INDEX campaign_log_by_campaign ON campaign_log (campaign, id);
)sql");
}

// Version 2: the signing key's hash of each image, and every change of a
// device's board or version, kept by a trigger in the transaction that made
// it (docs/spec/fleet-registry.md#version-history).
void AddVersionChanges(Database& db) {
  db.Execute(R"sql(
ALTER TABLE images ADD COLUMN key_hash TEXT NOT NULL DEFAULT '';

CREATE TABLE version_changes (
  id           INTEGER PRIMARY KEY,
  time         INTEGER NOT NULL,
  device       TEXT NOT NULL,
  old_board    TEXT,
  old_version  TEXT,
  board        TEXT NOT NULL,
  version      TEXT NOT NULL
);
CREATE INDEX version_changes_by_time ON version_changes (time);

CREATE TRIGGER devices_added AFTER INSERT ON devices BEGIN
  INSERT INTO version_changes (time, device, board, version)
  VALUES (NEW.last_seen, NEW.id, NEW.board, NEW.version);
END;
CREATE TRIGGER devices_version_changed AFTER UPDATE OF board, version ON devices
WHEN OLD.board IS NOT NEW.board OR OLD.version IS NOT NEW.version BEGIN
  INSERT INTO version_changes (time, device, old_board, old_version, board, version)
  VALUES (NEW.last_seen, NEW.id, OLD.board, OLD.version, NEW.board, NEW.version);
END;
)sql");
}

constexpr std::array<Migration, 2> kMigrations = {&CreateTables, &AddVersionChanges};

}  // namespace

std::span<const Migration> Migrations() { return kMigrations; }

void Migrate(Database& db, std::span<const Migration> migrations) {
  const int64_t known = static_cast<int64_t>(migrations.size());
  const int64_t found = db.PragmaInt("user_version");
  if (found < 0) {
    throw RegistryError(db.name() + ": schema version " + std::to_string(found) +
                        " was not written by mqota-server");
  }
  if (found > known) {
    throw RegistryError(db.name() + ": schema version " + std::to_string(found) +
                        " is newer than this mqota-server knows (" + std::to_string(known) +
                        "); upgrade mqota-server");
  }
  for (int64_t version = found; version < known; ++version) {
    InTransaction(db, [&] {
      migrations[static_cast<size_t>(version)](db);
      // user_version lives in the database header: it commits, or rolls
      // back, with the migration.
      db.Execute("PRAGMA user_version = " + std::to_string(version + 1));
    });
  }
}

}  // namespace mqota::fleet::sqlite
