// Opens the registry a --db argument names: a postgresql:// or postgres://
// URL is a PostgreSQL database (several servers may share it), anything else
// is a SQLite file (one server per file, held by its lock)
// (docs/spec/fleet-registry.md#choosing-a-backend).
#pragma once

#include <memory>
#include <string>

#include "mqota/fleet/registry.h"

namespace mqota::fleet {

struct OpenedRegistry {
  std::unique_ptr<Registry> registry;
  // One line for the server's start-up log: what was opened and how it
  // runs, e.g. "fleet.db (SQLite, schema 1, wal, synchronous 2)". Never a
  // password.
  std::string description;
};

// Throws RegistryError as OpenSqliteRegistry or OpenPostgresRegistry do.
OpenedRegistry OpenRegistry(const std::string& db);

}  // namespace mqota::fleet
