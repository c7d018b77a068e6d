// A thin RAII layer over the SQLite C API, the only place that calls it:
// one connection, statements prepared once and reused, values bound and
// read by type, transactions that roll back unless committed. Every failure
// throws RegistryError "<db>: <SQLite's message>". Not thread-safe: the
// registry serializes calls (docs/spec/fleet-registry.md#threads).
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

struct sqlite3;
struct sqlite3_stmt;

namespace mqota::fleet::sqlite {

class Database;

// One use of a prepared statement: bind, step, read; reset (and its
// bindings cleared) when the Query goes, so the statement can be reused.
class Query {
 public:
  Query(Database& db, sqlite3_stmt* statement, bool* in_use);
  ~Query();
  Query(const Query&) = delete;
  Query& operator=(const Query&) = delete;

  // Parameters are numbered from 1, as in SQL's ?1, ?2...
  Query& Bind(int index, int64_t value);
  Query& Bind(int index, std::string_view text);
  Query& Bind(int index, std::nullopt_t);
  Query& Bind(int index, const std::optional<int64_t>& value);
  // Bind(1, a), Bind(2, b), ...
  template <typename... Values>
  Query& BindAll(const Values&... values) {
    int index = 0;
    (Bind(++index, values), ...);
    return *this;
  }

  // True: a row is there to read; false: done.
  bool Step();
  // Steps a statement that returns no row.
  void Run();

  // Columns are numbered from 0.
  int64_t Int(int column) const;
  std::optional<int64_t> OptionalInt(int column) const;
  std::string Text(int column) const;

 private:
  Database& db_;
  sqlite3_stmt* statement_;
  bool* in_use_;
};

struct OpenOptions {
  std::chrono::milliseconds busy_timeout{5000};
};

class Database {
 public:
  // Opens (creating when missing) `path` for reading and writing. Throws
  // RegistryError naming the path.
  static Database Open(const std::filesystem::path& path, const OpenOptions& options);
  ~Database();
  Database(Database&& other) noexcept;
  Database& operator=(Database&&) = delete;
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  // Runs statements without parameters or results (schema, pragmas).
  void Execute(std::string_view sql);
  // The statement for `sql`, prepared once per connection. `sql` is one
  // statement; the text is the cache key. A statement is used by one Query
  // at a time (std::logic_error otherwise: a nested use is a bug).
  Query Prepare(const std::string& sql);
  // The value of a pragma that returns one (e.g. "journal_mode").
  std::string PragmaText(std::string_view pragma);
  int64_t PragmaInt(std::string_view pragma);

  int64_t LastInsertId() const;
  // Rows changed by the last INSERT, UPDATE or DELETE.
  int64_t Changes() const;
  // Whether SQLite opened the file read-only (it does so quietly when the
  // file cannot be written).
  bool ReadOnly() const;
  bool InTransaction() const;

  // Throws RegistryError "<db>: <SQLite's message for this connection>".
  [[noreturn]] void Fail(int code) const;
  const std::string& name() const { return name_; }

 private:
  Database(sqlite3* db, std::string name);
  sqlite3* db_;
  std::string name_;
  struct Finalize {
    void operator()(sqlite3_stmt* statement) const;
  };
  struct Prepared {
    std::unique_ptr<sqlite3_stmt, Finalize> statement;
    bool in_use = false;
  };
  // Node-based: a Query's pointer to `in_use` stays valid as entries are added.
  std::map<std::string, Prepared, std::less<>> statements_;
};

// kWrite: BEGIN IMMEDIATE at construction (the write lock is taken at once,
// so a transaction never fails half-way for a lock); kRead: BEGIN, a
// consistent snapshot for reads of several statements. ROLLBACK at
// destruction unless Commit() ran, so an exception leaves nothing
// half-written.
enum class TransactionKind : uint8_t { kRead, kWrite };

class Transaction {
 public:
  explicit Transaction(Database& db, TransactionKind kind = TransactionKind::kWrite);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  void Commit();

 private:
  Database& db_;
  bool done_ = false;
};

// Runs `work` in a transaction and commits; its result is returned.
template <typename Work>
auto InTransaction(Database& db, Work&& work, TransactionKind kind = TransactionKind::kWrite) {
  Transaction transaction(db, kind);
  if constexpr (std::is_void_v<decltype(work())>) {
    work();
    transaction.Commit();
  } else {
    auto result = work();
    transaction.Commit();
    return result;
  }
}

}  // namespace mqota::fleet::sqlite
