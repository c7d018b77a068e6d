// A real PostgreSQL server for tests: a fresh cluster (initdb) in a
// temporary directory, started on a free loopback port with its unix socket
// in that directory, stopped by its pid and removed by the destructor. Run
// as root (as the tests are), initdb and postgres refuse to start, so both
// run as the unprivileged user `nobody`, owning the directory. Tuned for
// tests: fsync off (a crash of the machine may lose the cluster; it is
// thrown away anyway), trust authentication on loopback only.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string>

namespace mqota::testing {

class PostgresServer {
 public:
  // The directory holding initdb, postgres, pg_isready and psql: $MQOTA_POSTGRES_BIN,
  // else the newest /usr/lib/postgresql/<version>/bin (Debian's layout);
  // nullopt when there is none (then the tests skip).
  static std::optional<std::filesystem::path> FindBinaries();
  // The sentence a test skips with when FindBinaries() finds nothing.
  static std::string MissingBinaries();

  // Creates the cluster (a copy of the build's template cluster, made by
  // initdb the first time) and starts the server; waits (at most 30 s)
  // until it accepts connections. Throws std::runtime_error with the
  // server's log when it does not.
  PostgresServer();
  // Stops the server (SIGINT, PostgreSQL's fast shutdown; SIGKILL to its
  // process group after 10 s) and removes the directory.
  ~PostgresServer();
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  int port() const { return port_; }
  // postgresql://mqota@127.0.0.1:<port>/<database>
  std::string Url(const std::string& database) const;
  // The database superuser the cluster was created with.
  static constexpr const char* kUser = "mqota";

  void CreateDatabase(const std::string& name);
  // Drops it even while sessions are connected to it (WITH (FORCE)).
  void DropDatabase(const std::string& name);
  // Runs `sql` with psql in `database`: the rows, one per line, columns
  // separated by '|'. Throws std::runtime_error with psql's message when
  // it fails.
  std::string Sql(const std::string& database, const std::string& sql) const;

  // Stops the server (as the destructor does) and starts it again on the
  // same port and data: a server restart, as a client sees it.
  void Restart();
  std::string Log() const;

 private:
  void InitDb();
  void Start();
  void Stop();
  std::filesystem::path bin_;
  std::filesystem::path dir_;  // owned by the server's user
  int port_ = 0;
  pid_t pid_ = -1;
};

// One server for the whole test binary (a ctest process): started at the
// first call, stopped at exit. Each test makes its own databases on it.
PostgresServer& SharedPostgres();

}  // namespace mqota::testing
