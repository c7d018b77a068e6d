// The registry in a PostgreSQL database (docs/spec/fleet-registry.md#postgresql):
// the SQLite backend's tables in PostgreSQL's types, every call one
// transaction, committed when it returns (durable as the server's fsync and
// synchronous_commit make it). Several mqota-servers may share one database:
// campaign decisions lock the campaign's row, so two servers cannot both act
// on one reading. Within one process, a pool of a few connections: the calls
// of several threads run side by side, ordered by the same row locks.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "mqota/fleet/registry.h"

namespace mqota::fleet {

// What the connection runs with, read back from the server: for a start-up
// log line, and for the tests.
struct PostgresSettings {
  std::string server_version;      // "15.18 (Debian ...)"
  std::string synchronous_commit;  // "on": a commit waits for its WAL flush
  std::string fsync;               // "on": the server flushes at all
  int64_t schema_version = 0;
};

class PostgresRegistry : public Registry {
 public:
  virtual PostgresSettings Settings() = 0;
};

// Whether `db` names a PostgreSQL database (postgresql://... or
// postgres://...) rather than a SQLite file.
bool IsPostgresUrl(const std::string& db);

// Connects to `url` (postgresql://user@host:port/db; a password, in the URL
// or in ~/.pgpass or PGPASSWORD, as libpq reads them) and brings the schema
// up to date. The database must exist. Throws RegistryError with one
// sentence naming the URL without its password when the server cannot be
// reached, refuses the login, or the schema is newer than this program's.
std::unique_ptr<PostgresRegistry> OpenPostgresRegistry(const std::string& url);

}  // namespace mqota::fleet
