// A thin RAII layer over libpq, the only place that calls it: one
// connection, statements prepared once per connection and reused, values
// sent as typed parameters (never spliced into the SQL) and read back as
// text, transactions that roll back unless committed. Every failure throws
// DatabaseError "<db>: <PostgreSQL's message>", where <db> is the URL
// without its password. Not thread-safe: the registry's pool leases each
// connection to one thread at a time (postgres_pool.h).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "mqota/fleet/registry.h"

struct pg_conn;
struct pg_result;

namespace mqota::fleet::postgres {

// A failure PostgreSQL reported, with its SQLSTATE ("40P01": deadlock) so a
// transaction that lost a race can be run again.
class DatabaseError : public RegistryError {
 public:
  DatabaseError(const std::string& message, std::string sqlstate)
      : RegistryError(message), sqlstate_(std::move(sqlstate)) {}
  const std::string& sqlstate() const { return sqlstate_; }
  // A deadlock or a serialization failure: nothing was written, the same
  // transaction may succeed when run again.
  bool Retryable() const { return sqlstate_ == "40P01" || sqlstate_ == "40001"; }

 private:
  std::string sqlstate_;
};

// "postgresql://user@host:port/db" for `url` as libpq reads it, without the
// password (wherever the URL carried it): the name in every error.
std::string DisplayName(const std::string& url);

class Connection;

// One run of a statement: parameters bound ($1, $2... in order of Bind),
// then Step() through the rows. The result is freed when the Query goes.
class Query {
 public:
  Query(Connection& db, std::string sql);
  ~Query();
  Query(const Query&) = delete;
  Query& operator=(const Query&) = delete;

  Query& Bind(int64_t value);
  Query& Bind(std::string_view text);
  Query& Bind(const char* text) { return Bind(std::string_view(text)); }
  Query& Bind(const std::string& text) { return Bind(std::string_view(text)); }
  Query& Bind(bool value);
  Query& Bind(const std::optional<int64_t>& value);  // NULL when empty
  template <typename... Values>
  Query& BindAll(const Values&... values) {
    (Bind(values), ...);
    return *this;
  }

  // Runs the statement at the first call. True: a row is there to read.
  bool Step();
  // Runs a statement that returns no row.
  void Run();
  // Rows changed by an INSERT, UPDATE or DELETE (after Run or Step).
  int64_t Changes() const;

  // Columns are numbered from 0.
  int64_t Int(int column) const;
  std::optional<int64_t> OptionalInt(int column) const;
  std::string Text(int column) const;
  bool Bool(int column) const;

 private:
  void Execute();
  bool IsNull(int column) const;
  Connection& db_;
  std::string sql_;
  std::vector<unsigned int> types_;  // parameter type OIDs
  std::vector<std::optional<std::string>> values_;
  pg_result* result_ = nullptr;
  int row_ = -1;
  int rows_ = 0;
};

// How long PostgreSQL lets one of the registry's sessions sit idle inside a
// transaction before it ends the session (and so releases its locks).
inline constexpr const char* kIdleInTransactionTimeout = "30s";

class Connection {
 public:
  // Connects to `url` (a postgresql:// URL or any libpq connection string).
  // Throws DatabaseError naming DisplayName(url).
  static Connection Open(const std::string& url);
  ~Connection();
  Connection(Connection&& other) noexcept;
  Connection& operator=(Connection&&) = delete;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Runs SQL without parameters or results (schema, BEGIN, SAVEPOINT);
  // several statements may be separated by ';'.
  void Execute(std::string_view sql);
  Query Prepare(std::string sql) { return {*this, std::move(sql)}; }
  // A server setting as the session sees it (SHOW name).
  std::string Setting(std::string_view name);

  // When the connection broke (the server restarted, failed over), connects
  // again; prepared statements are prepared again at their next use. True
  // when it reconnected and the new connection is usable; false when the
  // connection was fine, or still is not.
  bool ReconnectIfBroken();
  bool InTransaction() const;

  const std::string& name() const { return name_; }

  // Internal to Query: the statement name for `sql` and `types`, prepared
  // on this connection at its first use.
  std::string PreparedName(const std::string& sql, const std::vector<unsigned int>& types);
  // Throws DatabaseError for a failed result (which it frees) or a
  // connection failure (result == nullptr).
  [[noreturn]] void Fail(pg_result* result) const;
  pg_conn* raw() { return conn_; }

 private:
  Connection(pg_conn* conn, std::string name);
  // What every new session (a connection, a reconnection) is set up with.
  void StartSession();
  pg_conn* conn_;
  std::string name_;
  std::map<std::string, std::string, std::less<>> prepared_;  // SQL -> statement name
};

// kWrite: BEGIN READ COMMITTED, whatever the database's default (the
// registry locks the rows it decides on with FOR NO KEY UPDATE); kRead:
// BEGIN REPEATABLE READ READ ONLY, one snapshot for reads of several
// statements. ROLLBACK at destruction unless
// Commit() ran.
enum class TransactionKind : uint8_t { kRead, kWrite };

class Transaction {
 public:
  Transaction(Connection& db, TransactionKind kind);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  void Commit();

 private:
  Connection& db_;
  bool done_ = false;
};

// How often a transaction that lost a race (deadlock, serialization
// failure: another server wrote the same rows) is run again before its
// error is thrown.
inline constexpr int kTransactionAttempts = 3;

// Runs `work` in a transaction and commits; its result is returned. `work`
// runs again, from the start, when PostgreSQL aborted it for a deadlock or
// a serialization failure (nothing of it was written).
template <typename Work>
auto InTransaction(Connection& db, Work&& work, TransactionKind kind) {
  for (int attempt = 1;; ++attempt) {
    try {
      db.ReconnectIfBroken();
      Transaction transaction(db, kind);
      if constexpr (std::is_void_v<decltype(work())>) {
        work();
        transaction.Commit();
        return;
      } else {
        auto result = work();
        transaction.Commit();
        return result;
      }
    } catch (const DatabaseError& e) {
      if (!e.Retryable() || attempt >= kTransactionAttempts) throw;
    }
  }
}

}  // namespace mqota::fleet::postgres
