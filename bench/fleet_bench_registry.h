// The registry's write throughput with fsync on: fleet::OpenSqliteRegistry
// on a temporary file, Record() of one event per call (each call is one
// transaction, on disk when it returns: WAL, synchronous=FULL), beside raw
// sqlite3 single-row INSERT transactions into the same events table with
// the same pragmas, in the same run and directory.
#pragma once

#include <cstdint>
#include <filesystem>

namespace mqota::bench {

struct RegistryRates {
  double registry_per_s = 0;  // fleet::SqliteRegistry::Record
  double raw_per_s = 0;       // sqlite3_step of a prepared INSERT, autocommit
};

// `events` of each, in `dir`; throws std::runtime_error when SQLite fails.
RegistryRates MeasureRegistry(const std::filesystem::path& dir, uint32_t events);

}  // namespace mqota::bench
