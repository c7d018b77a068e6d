// The SQLite registry's schema, versioned in PRAGMA user_version and brought
// up to date by migrations, each in its own transaction
// (docs/spec/fleet-registry.md#migrations).
#pragma once

#include <span>

#include "sqlite_db.h"

namespace mqota::fleet::sqlite {

// Takes the schema from version i to i + 1 (migrations[i]); runs inside the
// transaction that also sets user_version.
using Migration = void (*)(Database& db);

// This code's migrations, in order: their count is the schema version it
// writes.
std::span<const Migration> Migrations();

// Runs the migrations the database lacks. Throws RegistryError "<db>: schema
// version 7 is newer than this mqota-server knows (3); upgrade mqota-server"
// for a database a newer program wrote.
void Migrate(Database& db, std::span<const Migration> migrations = Migrations());

}  // namespace mqota::fleet::sqlite
