#include "mqota/fleet/open_registry.h"

#include <utility>

#include "mqota/fleet/postgres_registry.h"
#include "mqota/fleet/sqlite_registry.h"
#include "postgres_db.h"

namespace mqota::fleet {

OpenedRegistry OpenRegistry(const std::string& db) {
  OpenedRegistry opened;
  if (IsPostgresUrl(db)) {
    auto registry = OpenPostgresRegistry(db);
    const PostgresSettings s = registry->Settings();
    opened.description = postgres::DisplayName(db) + " (PostgreSQL " + s.server_version +
                         ", schema " + std::to_string(s.schema_version) + ", synchronous_commit " +
                         s.synchronous_commit + ", fsync " + s.fsync + ")";
    opened.registry = std::move(registry);
  } else {
    auto registry = OpenSqliteRegistry(db);
    const SqliteSettings s = registry->Settings();
    opened.description = db + " (SQLite, schema " + std::to_string(s.schema_version) + ", " +
                         s.journal_mode + ", synchronous " + std::to_string(s.synchronous) + ")";
    opened.registry = std::move(registry);
  }
  return opened;
}

}  // namespace mqota::fleet
