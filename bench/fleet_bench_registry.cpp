#include "fleet_bench_registry.h"

#include <sqlite3.h>

#include <chrono>
#include <stdexcept>
#include <string>

#include "mqota/fleet/sqlite_registry.h"

namespace mqota::bench {
namespace {

using Clock = std::chrono::steady_clock;
constexpr uint32_t kDevices = 100;  // the events go round-robin to these

std::string DeviceName(uint32_t i) { return "bench-" + std::to_string(1000 + i); }

double RegistryRate(const std::filesystem::path& file, uint32_t events) {
  auto registry = fleet::OpenSqliteRegistry(file);
  const fleet::TimeMs now = 1700000000000;
  for (uint32_t d = 0; d < kDevices; ++d) {
    registry->SeeDevice({DeviceName(d), "MQOTA_VIRTUAL_BOARD", "1.0.0", "", true, now});
  }
  const auto start = Clock::now();
  for (uint32_t i = 0; i < events; ++i) {
    fleet::DeviceEvent e;
    e.device = DeviceName(i % kDevices);
    e.time = now + i;
    e.kind = fleet::EventKind::kDownloading;
    e.version = "1.1.0";
    e.percent = static_cast<uint8_t>(i % 101);
    registry->Record(e);
  }
  return events / std::chrono::duration<double>(Clock::now() - start).count();
}

void Check(sqlite3* db, int rc, const char* what) {
  if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
    throw std::runtime_error(std::string("raw sqlite3: ") + what + ": " + sqlite3_errmsg(db));
  }
}

// The registry's events table and indexes (fleet/src/sqlite_schema.cpp),
// without the foreign keys (there is no devices table here).
constexpr char kSchema[] =
    "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;"
    "CREATE TABLE events (id INTEGER PRIMARY KEY AUTOINCREMENT, time INTEGER NOT NULL,"
    " device TEXT NOT NULL, kind TEXT NOT NULL, version TEXT NOT NULL, campaign INTEGER,"
    " percent INTEGER, reason TEXT NOT NULL DEFAULT '', verified INTEGER NOT NULL);"
    "CREATE INDEX events_by_device ON events (device, time, id);"
    "CREATE INDEX events_barring ON events (device, version)"
    " WHERE kind IN ('reverted', 'rejected', 'refused');";

double RawRate(const std::filesystem::path& file, uint32_t events) {
  sqlite3* db = nullptr;
  Check(db, sqlite3_open(file.c_str(), &db), "open");
  sqlite3_stmt* insert = nullptr;
  try {
    Check(db, sqlite3_exec(db, kSchema, nullptr, nullptr, nullptr), "schema");
    Check(db,
          sqlite3_prepare_v2(db,
                             "INSERT INTO events (time, device, kind, version, campaign, percent,"
                             " reason, verified) VALUES (?1, ?2, 'downloading', '1.1.0', NULL, ?3,"
                             " '', 1)",
                             -1, &insert, nullptr),
          "prepare");
    const auto start = Clock::now();
    for (uint32_t i = 0; i < events; ++i) {
      const std::string device = DeviceName(i % kDevices);
      sqlite3_bind_int64(insert, 1, 1700000000000 + i);
      sqlite3_bind_text(insert, 2, device.c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_bind_int(insert, 3, static_cast<int>(i % 101));
      Check(db, sqlite3_step(insert), "insert");  // autocommit: one transaction
      sqlite3_reset(insert);
    }
    const double rate = events / std::chrono::duration<double>(Clock::now() - start).count();
    sqlite3_finalize(insert);
    sqlite3_close(db);
    return rate;
  } catch (...) {
    sqlite3_finalize(insert);
    sqlite3_close(db);
    throw;
  }
}

}  // namespace

RegistryRates MeasureRegistry(const std::filesystem::path& dir, uint32_t events) {
  RegistryRates r;
  r.raw_per_s = RawRate(dir / "raw.db", events);
  r.registry_per_s = RegistryRate(dir / "registry.db", events);
  return r;
}

}  // namespace mqota::bench
