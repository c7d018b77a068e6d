// The SQLite registry: the conformance suite over real files, and what only
// SQLite has: its settings, the schema's migrations, one writer per file,
// start-up refusals, and durability when the process is killed or the disk
// fills up (docs/spec/fleet-registry.md).
#include "mqota/fleet/sqlite_registry.h"

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <map>

#include "mqota/testing/files.h"
#include "registry_conformance.h"
#include "sqlite_db.h"
#include "sqlite_schema.h"

namespace mqota::fleet {
namespace {

namespace fs = std::filesystem;
using mqota::testing::TempDir;
using Clock = std::chrono::steady_clock;

class SqliteStore : public RegistryStore {
 public:
  std::unique_ptr<Registry> Open() override { return OpenSqliteRegistry(dir_ / "fleet.db"); }

 private:
  TempDir dir_;
};

INSTANTIATE_TEST_SUITE_P(
    Sqlite, RegistryConformance,
    ::testing::Values(RegistryBackend{
        "sqlite", [] { return std::make_unique<SqliteStore>(); }, {}}),  // always available
    RegistryBackendName);

// The RegistryError message opening `db` throws; "(opened)" when it opens.
std::string OpenError(const fs::path& db) {
  try {
    OpenSqliteRegistry(db);
  } catch (const RegistryError& e) {
    return e.what();
  }
  return "(opened)";
}

// Another program's connection to the file: the sqlite3 shell, a backup.
class RawConnection {
 public:
  explicit RawConnection(const fs::path& db, int flags = SQLITE_OPEN_READWRITE) {
    EXPECT_EQ(sqlite3_open_v2(db.c_str(), &db_, flags, nullptr), SQLITE_OK);
  }
  ~RawConnection() { sqlite3_close(db_); }
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;
  // The first column of the first row, as text; "" when none. Fails the
  // test on an error.
  std::string Query(const std::string& sql) {
    sqlite3_stmt* statement = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &statement, nullptr) != SQLITE_OK) {
      ADD_FAILURE() << sql << ": " << sqlite3_errmsg(db_);
      return "";
    }
    std::string value;
    const int rc = sqlite3_step(statement);
    if (rc == SQLITE_ROW) {
      const auto* text = sqlite3_column_text(statement, 0);
      value = text != nullptr ? reinterpret_cast<const char*>(text) : "";
    } else if (rc != SQLITE_DONE) {
      ADD_FAILURE() << sql << ": " << sqlite3_errmsg(db_);
    }
    sqlite3_finalize(statement);
    return value;
  }

 private:
  sqlite3* db_ = nullptr;
};

DeviceEvent Progress(int i) {
  DeviceEvent event;
  event.device = "dev";
  event.time = 1000 + i;
  event.kind = EventKind::kDownloading;
  event.version = "1.2.0";
  event.percent = static_cast<uint8_t>(i % 101);
  event.reason = "event " + std::to_string(i);
  return event;
}

void ExpectProgress(const DeviceEvent& event, int i) {
  EXPECT_EQ(event.time, 1000 + i);
  EXPECT_EQ(event.kind, EventKind::kDownloading);
  EXPECT_EQ(event.version, "1.2.0");
  EXPECT_EQ(event.percent, std::optional<uint8_t>(i % 101));
  EXPECT_EQ(event.reason, "event " + std::to_string(i));
}

// Writes all of `size` bytes to a pipe from a child process; false if not.
bool WriteAll(int fd, const void* data, size_t size) {
  const auto* bytes = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t n = write(fd, bytes, size);
    if (n <= 0) return false;
    bytes += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

// Reads what a child writes to `fd` until it closes it or `deadline`.
std::string ReadUntilClosed(int fd, Clock::time_point deadline) {
  std::string data;
  char buffer[4096];
  while (Clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (poll(&p, 1, static_cast<int>(std::max<int64_t>(left.count(), 1))) <= 0) continue;
    const ssize_t n = read(fd, buffer, sizeof buffer);
    if (n <= 0) break;
    data.append(buffer, static_cast<size_t>(n));
  }
  return data;
}

// Waits for the child at most until `deadline`, then kills it.
void Reap(pid_t child, Clock::time_point deadline) {
  int status = 0;
  while (waitpid(child, &status, WNOHANG) == 0) {
    if (Clock::now() >= deadline) {
      kill(child, SIGKILL);
      waitpid(child, &status, 0);
      ADD_FAILURE() << "the child did not end in time";
      return;
    }
    usleep(10'000);
  }
}

// ---- Settings and readers ----------------------------------------------------

TEST(SqliteRegistry, RunsWithWriteAheadLoggingFullSyncAndForeignKeys) {
  TempDir dir;
  SqliteOptions options;
  options.busy_timeout = std::chrono::milliseconds(1234);
  auto registry = OpenSqliteRegistry(dir / "fleet.db", options);
  const SqliteSettings settings = registry->Settings();
  EXPECT_EQ(settings.journal_mode, "wal");
  EXPECT_EQ(settings.synchronous, 2);  // FULL
  EXPECT_TRUE(settings.foreign_keys);
  EXPECT_EQ(settings.busy_timeout_ms, 1234);
  EXPECT_EQ(settings.schema_version, static_cast<int64_t>(sqlite::Migrations().size()));
  EXPECT_EQ(OpenSqliteRegistry(dir / "other.db")->Settings().busy_timeout_ms, 5000);
}

TEST(SqliteRegistry, OtherProgramsReadWhileItWrites) {
  TempDir dir;
  auto registry = OpenSqliteRegistry(dir / "fleet.db");
  registry->SeeDevice({"dev", "kit", "1.0.0", "", true, 1});
  registry->Record(Progress(0));
  RawConnection reader(dir / "fleet.db", SQLITE_OPEN_READONLY);
  reader.Query("BEGIN");
  EXPECT_EQ(reader.Query("SELECT COUNT(*) FROM events"), "1");
  registry->Record(Progress(1));  // a reader in a transaction does not block a write
  EXPECT_EQ(reader.Query("SELECT COUNT(*) FROM events"), "1");  // its snapshot
  reader.Query("COMMIT");
  EXPECT_EQ(reader.Query("SELECT COUNT(*) FROM events"), "2");
}

// ---- Schema ----------------------------------------------------------------

TEST(SqliteSchema, AnEmptyFileIsMigratedToTheCurrentSchema) {
  TempDir dir;
  std::ofstream(dir / "fleet.db").close();  // zero bytes: what `touch` leaves
  OpenSqliteRegistry(dir / "fleet.db");
  RawConnection raw(dir / "fleet.db");
  EXPECT_EQ(raw.Query("PRAGMA user_version"), std::to_string(sqlite::Migrations().size()));
  for (const char* table : {"devices", "device_tags", "images", "campaigns", "campaign_devices",
                            "events", "campaign_log"}) {
    EXPECT_EQ(raw.Query(std::string("SELECT name FROM sqlite_master WHERE name = '") + table + "'"),
              table);
  }
}

TEST(SqliteSchema, AVersionOneDatabaseKeepsItsRowsAndItsDevicesCountBeforeTheMigration) {
  TempDir dir;
  const fs::path db = dir / "fleet.db";
  {
    auto raw = sqlite::Database::Open(db, {});
    sqlite::Migrate(raw, sqlite::Migrations().first(1));
    raw.Execute(
        "INSERT INTO devices (id, board, version, first_seen, last_seen) "
        "VALUES ('old', 'kit', '1.0.0', 1000, 5000);"
        "INSERT INTO images (board, version, sha256, size, path, added) "
        "VALUES ('kit', '1.1.0', 'ab', 10, '/i.bin', 1000)");
  }
  auto registry = OpenSqliteRegistry(db);
  EXPECT_EQ(registry->Settings().schema_version, 2);
  EXPECT_EQ(registry->ListImages().at(0).key_hash, "");
  // No change row for the old device: it counts at its version throughout.
  registry->SeeDevice({"new", "kit", "1.1.0", "", true, 7000});
  const std::vector<TimeMs> times = {500, 6000, 8000};
  const VersionHistory h = registry->VersionsOver(times);
  ASSERT_EQ(h.series.size(), 2u);
  EXPECT_EQ(h.series[0].devices, (std::vector<uint64_t>{1, 1, 1}));
  EXPECT_EQ(h.series[1].devices, (std::vector<uint64_t>{0, 0, 1}));
}

TEST(SqliteSchema, ADatabaseOfANewerProgramIsRefused) {
  TempDir dir;
  const fs::path db = dir / "fleet.db";
  OpenSqliteRegistry(db);
  RawConnection(db).Query("PRAGMA user_version = 7");
  EXPECT_EQ(OpenError(db), db.string() + ": schema version 7 is newer than this mqota-server " +
                               "knows (" + std::to_string(sqlite::Migrations().size()) +
                               "); upgrade mqota-server");
}

TEST(SqliteSchema, EachMigrationIsOneTransactionWithItsVersion) {
  TempDir dir;
  auto db = sqlite::Database::Open(dir / "m.db", {});
  // A captureless lambda is what a Migration is: the switch is static.
  static bool fail_second;
  fail_second = true;
  const std::array<sqlite::Migration, 2> migrations = {
      [](sqlite::Database& d) { d.Execute("CREATE TABLE a (x)"); },
      [](sqlite::Database& d) {
        d.Execute("CREATE TABLE b (x)");
        if (fail_second) d.Execute("INSERT INTO nowhere VALUES (1)");
      }};
  EXPECT_THROW(sqlite::Migrate(db, migrations), RegistryError);
  EXPECT_EQ(db.PragmaInt("user_version"), 1);   // the first one stays
  EXPECT_EQ(db.PragmaInt("table_info(b)"), 0);  // the second one left nothing
  fail_second = false;
  sqlite::Migrate(db, migrations);
  EXPECT_EQ(db.PragmaInt("user_version"), 2);
  EXPECT_EQ(db.PragmaText("table_info(b)"), "0");  // column 0 of b exists
}

// ---- Start-up refusals -------------------------------------------------------

TEST(SqliteRegistry, ASecondOpenOfTheFileIsRefusedUntilTheFirstCloses) {
  TempDir dir;
  const fs::path db = dir / "fleet.db";
  auto first = OpenSqliteRegistry(db);
  EXPECT_EQ(OpenError(db), db.string() + " is in use by another mqota-server (pid " +
                               std::to_string(getpid()) + ")");
  // Under another name, the same file.
  fs::create_symlink(db, dir / "link.db");
  EXPECT_EQ(OpenError(dir / "link.db"), (dir / "link.db").string() +
                                            " is in use by another mqota-server (pid " +
                                            std::to_string(getpid()) + ")");
  first.reset();
  EXPECT_EQ(OpenError(db), "(opened)");
}

TEST(SqliteRegistry, AFileThatIsNotADatabaseIsRefused) {
  TempDir dir;
  const fs::path db = dir / "notes.txt";
  std::ofstream(db) << std::string(4096, 'x');
  EXPECT_EQ(OpenError(db), db.string() + ": file is not a database");
}

TEST(SqliteRegistry, AMissingDirectoryIsRefused) {
  TempDir dir;
  const fs::path db = dir / "nope" / "fleet.db";
  EXPECT_EQ(OpenError(db),
            db.string() + ": the directory " + (dir / "nope").string() + " does not exist");
  EXPECT_FALSE(fs::exists(dir / "nope"));
}

// OpenError(db) as a user without root's power to write anything: root
// runs it in a child that became `nobody`. "" and the reason when that
// cannot be done here.
std::string OpenErrorUnprivileged(const fs::path& db, std::string* cannot) {
  if (geteuid() != 0) return OpenError(db);
  int fds[2];
  if (pipe(fds) != 0) return "(no pipe)";
  const pid_t child = fork();
  if (child == 0) {
    close(fds[0]);
    std::string message;
    if (setgroups(0, nullptr) != 0 || setgid(65534) != 0 || setuid(65534) != 0) {
      message = std::string("!cannot become nobody: ") + std::strerror(errno);
    } else {
      message = OpenError(db);
    }
    WriteAll(fds[1], message.data(), message.size());
    _exit(0);
  }
  close(fds[1]);
  const auto deadline = Clock::now() + std::chrono::seconds(30);
  std::string message = ReadUntilClosed(fds[0], deadline);
  close(fds[0]);
  Reap(child, deadline);
  if (!message.empty() && message[0] == '!') {
    *cannot = message.substr(1);
    return "";
  }
  return message;
}

TEST(SqliteRegistry, AReadOnlyFileOrDirectoryIsRefusedAtOpen) {
  TempDir dir;
  const fs::path db = dir / "fleet.db";
  OpenSqliteRegistry(db);  // created, closed
  const auto mode = [](const fs::path& path, fs::perms perms) {
    fs::permissions(path, perms, fs::perm_options::replace);
  };
  const fs::perms all = fs::perms::owner_all | fs::perms::group_all | fs::perms::others_all;
  const fs::perms read = fs::perms::owner_read | fs::perms::group_read | fs::perms::others_read;
  const fs::perms read_write =
      read | fs::perms::owner_write | fs::perms::group_write | fs::perms::others_write;
  const fs::perms read_exec =
      read | fs::perms::owner_exec | fs::perms::group_exec | fs::perms::others_exec;

  // The file read-only, its directory (and the lock file) writable.
  mode(dir.path(), all);
  mode(dir / "fleet.db-lock", read_write);
  mode(db, read);
  std::string cannot;
  const std::string file = OpenErrorUnprivileged(db, &cannot);
  if (!cannot.empty()) GTEST_SKIP() << "as root, and " << cannot;
  EXPECT_EQ(file, db.string() + ": the file is read-only");

  // The file writable, its directory read-only: the write-ahead log cannot
  // be created beside it.
  mode(db, read_write);
  mode(dir.path(), read_exec);
  const std::string directory = OpenErrorUnprivileged(db, &cannot);
  mode(dir.path(), all);
  EXPECT_EQ(directory.rfind(db.string() + ": ", 0), 0u) << directory;
  EXPECT_NE(directory.find("(the file or its directory cannot be written)"), std::string::npos)
      << directory;
}

// ---- Durability ----------------------------------------------------------------

// A child records events in a loop and reports each returned id; it is
// killed with SIGKILL mid-loop. Every id it reported must be there, whole,
// and the file must open again (the kernel released the lock).
TEST(SqliteRegistry, EveryEventItReturnedSurvivesKillNine) {
  TempDir dir;
  const fs::path db = dir / "fleet.db";
  OpenSqliteRegistry(db)->SeeDevice({"dev", "kit", "1.0.0", "", true, 1});
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(fds[0]);
    try {
      auto registry = OpenSqliteRegistry(db);
      for (int i = 0; i < 1'000'000; ++i) {
        const int64_t reported[2] = {registry->Record(Progress(i)).id, i};
        if (!WriteAll(fds[1], reported, sizeof reported)) break;
      }
    } catch (...) {  // nothing to report to: the parent sees the pipe close early
    }
    _exit(0);
  }
  close(fds[1]);
  const auto deadline = Clock::now() + std::chrono::seconds(60);
  std::string data;
  char buffer[4096];
  constexpr size_t kPair = 2 * sizeof(int64_t);
  bool killed = false;
  while (Clock::now() < deadline) {
    if (!killed && data.size() >= 200 * kPair) {
      kill(child, SIGKILL);
      killed = true;
    }
    pollfd p{fds[0], POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) continue;
    const ssize_t n = read(fds[0], buffer, sizeof buffer);
    if (n <= 0) break;  // closed: the child is gone
    data.append(buffer, static_cast<size_t>(n));
  }
  close(fds[0]);
  if (!killed) kill(child, SIGKILL);
  Reap(child, deadline + std::chrono::seconds(5));
  ASSERT_TRUE(killed) << "the child reported " << data.size() / kPair << " events in time";

  auto registry = OpenSqliteRegistry(db);
  std::map<int64_t, DeviceEvent> stored;
  for (DeviceEvent& event : registry->History("dev", 10'000'000)) stored[event.id] = event;
  const size_t reported = data.size() / kPair;
  EXPECT_GE(reported, 200u);
  for (size_t k = 0; k < reported; ++k) {
    int64_t pair[2];
    std::memcpy(pair, data.data() + k * kPair, kPair);
    const auto it = stored.find(pair[0]);
    ASSERT_NE(it, stored.end()) << "event " << pair[0] << " was reported but is not stored";
    ExpectProgress(it->second, static_cast<int>(pair[1]));
  }
  // At most the one event being recorded when the kill came is more.
  EXPECT_LE(stored.size(), reported + 1);
  EXPECT_EQ(RawConnection(db).Query("PRAGMA integrity_check"), "ok");
}

// The disk fills up (a file size limit stands in: writes past it fail, as
// on a full disk): the failing call throws RegistryError with SQLite's
// message, and every call before it is stored, nothing of it.
TEST(SqliteRegistry, AFullDiskFailsTheCallWithoutLeavingHalfOfIt) {
  TempDir dir;
  const fs::path db = dir / "fleet.db";
  OpenSqliteRegistry(db)->SeeDevice({"dev", "kit", "1.0.0", "", true, 1});
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(fds[0]);
    std::string message = "!no failure";
    try {
      auto registry = OpenSqliteRegistry(db);
      signal(SIGXFSZ, SIG_IGN);  // a write past the limit fails instead of killing
      constexpr rlim_t kFileSizeLimit = rlim_t{256} * 1024;
      const rlimit limit{kFileSizeLimit, kFileSizeLimit};
      setrlimit(RLIMIT_FSIZE, &limit);
      for (int i = 0; i < 100'000; ++i) {
        DeviceEvent event = Progress(i);
        event.reason += std::string(2000, '.');
        const int64_t id = registry->Record(event).id;
        if (!WriteAll(fds[1], &id, sizeof id)) break;
      }
    } catch (const RegistryError& e) {
      message = std::string("!") + e.what();
    }
    const int64_t end = -1;
    WriteAll(fds[1], &end, sizeof end);
    WriteAll(fds[1], message.data(), message.size());
    _exit(0);
  }
  close(fds[1]);
  const auto deadline = Clock::now() + std::chrono::seconds(60);
  const std::string data = ReadUntilClosed(fds[0], deadline);
  close(fds[0]);
  Reap(child, deadline);

  std::vector<int64_t> ids;
  size_t at = 0;
  for (; at + sizeof(int64_t) <= data.size(); at += sizeof(int64_t)) {
    int64_t id = 0;
    std::memcpy(&id, data.data() + at, sizeof id);
    if (id == -1) break;
    ids.push_back(id);
  }
  const std::string message = data.substr(std::min(data.size(), at + sizeof(int64_t)));
  ASSERT_GT(ids.size(), 10u);
  EXPECT_EQ(message.rfind("!" + db.string() + ": ", 0), 0u) << message;
  EXPECT_TRUE(message.find("disk") != std::string::npos ||
              message.find("full") != std::string::npos)
      << message;

  auto registry = OpenSqliteRegistry(db);
  const auto history = registry->History("dev", 1'000'000);
  ASSERT_EQ(history.size(), ids.size());  // every returned one, not the failed one
  EXPECT_EQ(history.front().id, ids.back());
  EXPECT_EQ(registry->FindDevice("dev")->last_seen, 1000 + static_cast<int64_t>(ids.size()) - 1);
  EXPECT_EQ(RawConnection(db).Query("PRAGMA integrity_check"), "ok");
}

}  // namespace
}  // namespace mqota::fleet
