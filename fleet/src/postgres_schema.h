// The PostgreSQL registry's schema, versioned in the table schema_version
// (one row per migration applied) and brought up to date by migrations,
// each in its own transaction, one server at a time
// (docs/spec/fleet-registry.md#postgresql).
#pragma once

#include <cstdint>
#include <span>

#include "postgres_db.h"

namespace mqota::fleet::postgres {

// Takes the schema from version i to i + 1 (migrations[i]); runs inside the
// transaction that also records version i + 1.
using Migration = void (*)(Connection& db);

// This code's migrations, in order: their count is the schema version it
// writes.
std::span<const Migration> Migrations();

// Runs the migrations the database lacks, holding an advisory lock so that
// servers starting together migrate once. Throws RegistryError "<db>:
// schema version 7 is newer than this mqota-server knows (1); upgrade
// mqota-server" for a database a newer program wrote.
void Migrate(Connection& db, std::span<const Migration> migrations = Migrations());

// The schema version recorded (0: none yet).
int64_t SchemaVersion(Connection& db);

}  // namespace mqota::fleet::postgres
