#include "postgres_schema.h"

#include <array>
#include <string>

namespace mqota::fleet::postgres {
namespace {

// Version 1: the SQLite schema (sqlite_schema.cpp) in PostgreSQL's types.
// Every table, column and index is described in
// docs/spec/fleet-registry.md#tables, the types in #postgresql: change them
// together. Times are BIGINT milliseconds as in SQLite, so both backends
// store and compare the same numbers.
void CreateTables(Connection& db) {
  db.Execute(R"sql(
CREATE TABLE devices (
  id          TEXT PRIMARY KEY,
  board       TEXT NOT NULL,
  version     TEXT NOT NULL DEFAULT '',
  image_hash  TEXT NOT NULL DEFAULT '',
  state       TEXT NOT NULL DEFAULT 'seen',
  state_time  BIGINT NOT NULL DEFAULT 0,
  verified    BOOLEAN NOT NULL DEFAULT FALSE,
  online      BOOLEAN NOT NULL DEFAULT FALSE,
  first_seen  BIGINT NOT NULL,
  last_seen   BIGINT NOT NULL
);
CREATE INDEX devices_by_board ON devices (board, version);

CREATE TABLE device_tags (
  device  TEXT NOT NULL REFERENCES devices (id),
  tag     TEXT NOT NULL,
  PRIMARY KEY (device, tag)
);
CREATE INDEX device_tags_by_tag ON device_tags (tag, device);

CREATE TABLE images (
  id       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  board    TEXT NOT NULL,
  version  TEXT NOT NULL,
  sha256   TEXT NOT NULL,
  size     BIGINT NOT NULL,
  path     TEXT NOT NULL,
  added    BIGINT NOT NULL,
  UNIQUE (board, version)
);

CREATE TABLE campaigns (
  id                 BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name               TEXT NOT NULL,
  image              BIGINT NOT NULL REFERENCES images (id),
  target             JSONB NOT NULL,
  rules              JSONB NOT NULL,
  status             TEXT NOT NULL,
  status_reason      TEXT NOT NULL DEFAULT '',
  wave_count         INTEGER NOT NULL,
  open_waves         INTEGER NOT NULL,
  gate_met_at        BIGINT,
  failures_accepted  INTEGER NOT NULL DEFAULT 0,
  created            BIGINT NOT NULL,
  updated            BIGINT NOT NULL
);
CREATE INDEX campaigns_by_status ON campaigns (status);

CREATE TABLE campaign_devices (
  campaign          BIGINT NOT NULL REFERENCES campaigns (id),
  device            TEXT NOT NULL REFERENCES devices (id),
  position          INTEGER NOT NULL,
  wave              INTEGER NOT NULL,
  stage             TEXT NOT NULL,
  first_offered_at  BIGINT,
  updated_at        BIGINT,
  PRIMARY KEY (campaign, device),
  UNIQUE (campaign, position)
);
CREATE INDEX campaign_devices_by_device ON campaign_devices (device);
CREATE INDEX campaign_devices_by_wave ON campaign_devices (campaign, wave, stage);
CREATE INDEX campaign_devices_by_stage ON campaign_devices (campaign, stage, position);
CREATE INDEX campaign_devices_by_start ON campaign_devices (campaign, first_offered_at);

CREATE TABLE events (
  id        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  time      BIGINT NOT NULL,
  device    TEXT NOT NULL REFERENCES devices (id),
  kind      TEXT NOT NULL,
  version   TEXT NOT NULL,
  campaign  BIGINT REFERENCES campaigns (id),
  percent   SMALLINT,
  reason    TEXT NOT NULL DEFAULT '',
  verified  BOOLEAN NOT NULL
);
CREATE INDEX events_by_device ON events (device, time, id);
CREATE INDEX events_barring ON events (device, version)
  WHERE kind IN ('reverted', 'rejected', 'refused');

CREATE TABLE campaign_log (
  id        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  campaign  BIGINT NOT NULL REFERENCES campaigns (id),
  time      BIGINT NOT NULL,
  action    TEXT NOT NULL,
  reason    TEXT NOT NULL
);
CREATE INDEX campaign_log_by_campaign ON campaign_log (campaign, id);
)sql");
}

// Version 2: sqlite_schema.cpp's version 2, the trigger in PL/pgSQL.
void AddVersionChanges(Connection& db) {
  db.Execute(R"sql(
ALTER TABLE images ADD COLUMN key_hash TEXT NOT NULL DEFAULT '';

CREATE TABLE version_changes (
  id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  time         BIGINT NOT NULL,
  device       TEXT NOT NULL,
  old_board    TEXT,
  old_version  TEXT,
  board        TEXT NOT NULL,
  version      TEXT NOT NULL
);
CREATE INDEX version_changes_by_time ON version_changes (time);

CREATE FUNCTION mqota_version_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO version_changes (time, device, board, version)
    VALUES (NEW.last_seen, NEW.id, NEW.board, NEW.version);
  ELSIF OLD.board IS DISTINCT FROM NEW.board OR OLD.version IS DISTINCT FROM NEW.version THEN
    INSERT INTO version_changes (time, device, old_board, old_version, board, version)
    VALUES (NEW.last_seen, NEW.id, OLD.board, OLD.version, NEW.board, NEW.version);
  END IF;
  RETURN NULL;
END
$$;
CREATE TRIGGER devices_version_changed AFTER INSERT OR UPDATE OF board, version ON devices
FOR EACH ROW EXECUTE FUNCTION mqota_version_changed();
)sql");
}

constexpr std::array<Migration, 2> kMigrations = {&CreateTables, &AddVersionChanges};

// pg_advisory_xact_lock's key for migrating: "mqot" "a-sc" (schema) in
// ASCII, so it does not collide with another program's lock by chance.
constexpr int64_t kMigrationLock = 0x6d716f74'612d7363;

}  // namespace

std::span<const Migration> Migrations() { return kMigrations; }

int64_t SchemaVersion(Connection& db) {
  // Migrate created the table: every open runs it first.
  Query q = db.Prepare("SELECT COALESCE(MAX(version), 0) FROM schema_version");
  return q.Step() ? q.Int(0) : 0;
}

void Migrate(Connection& db, std::span<const Migration> migrations) {
  const int64_t known = static_cast<int64_t>(migrations.size());
  // One transaction per migration. Each takes the lock, then reads the
  // version: a server that waited for another's migration sees it done.
  // Each round applies one migration or ends: known + 1 rounds at most.
  for (int64_t round = 0; round <= known; ++round) {
    const bool done = InTransaction(
        db,
        [&] {
          db.Prepare("SELECT pg_advisory_xact_lock($1)").Bind(kMigrationLock).Step();
          db.Execute(
              "CREATE TABLE IF NOT EXISTS schema_version ("
              "version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())");
          Query q = db.Prepare("SELECT COALESCE(MAX(version), 0) FROM schema_version");
          q.Step();
          const int64_t found = q.Int(0);
          if (found > known) {
            throw RegistryError(db.name() + ": schema version " + std::to_string(found) +
                                " is newer than this mqota-server knows (" + std::to_string(known) +
                                "); upgrade mqota-server");
          }
          if (found == known) return true;
          migrations[static_cast<size_t>(found)](db);
          db.Prepare("INSERT INTO schema_version (version) VALUES ($1)").Bind(found + 1).Run();
          return false;
        },
        TransactionKind::kWrite);
    if (done) return;
  }
  throw RegistryError(db.name() + ": the schema version did not reach " + std::to_string(known));
}

}  // namespace mqota::fleet::postgres
