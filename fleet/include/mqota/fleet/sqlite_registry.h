// The registry in one SQLite file (docs/spec/fleet-registry.md): WAL, so
// other readers (the sqlite3 shell, a backup) read while the server writes;
// synchronous=FULL, so an event Record() returned is on disk; one connection
// behind a mutex, so every call is one transaction in turn; one process per
// file, held by a lock for the registry's lifetime.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "mqota/fleet/registry.h"

namespace mqota::fleet {

struct SqliteOptions {
  // How long a call waits for another connection's lock (a reader
  // checkpointing, the sqlite3 shell writing) before it fails.
  std::chrono::milliseconds busy_timeout{5000};
};

// What the open connection actually runs with, read back from SQLite: for a
// start-up log line, and for the tests.
struct SqliteSettings {
  std::string journal_mode;  // "wal"
  int64_t synchronous = 0;   // 2: FULL
  bool foreign_keys = false;
  int64_t busy_timeout_ms = 0;
  int64_t schema_version = 0;  // PRAGMA user_version
};

class SqliteRegistry : public Registry {
 public:
  virtual SqliteSettings Settings() = 0;
};

// Opens `db`, creating it (but not its directory) when missing, and brings
// its schema up to date. Throws RegistryError with one sentence naming the
// file when the directory is missing, the file is not a database, it or its
// directory cannot be written, its schema is newer than this program's, or
// another process has it open (docs/spec/fleet-registry.md#opening).
std::unique_ptr<SqliteRegistry> OpenSqliteRegistry(const std::filesystem::path& db,
                                                   const SqliteOptions& options = {});

}  // namespace mqota::fleet
