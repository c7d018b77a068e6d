#include "sqlite_db.h"

#include <sqlite3.h>

#include <stdexcept>
#include <utility>

#include "mqota/fleet/registry.h"

namespace mqota::fleet::sqlite {

Query::Query(Database& db, sqlite3_stmt* statement, bool* in_use)
    : db_(db), statement_(statement), in_use_(in_use) {
  *in_use_ = true;
}

Query::~Query() {
  // The error of a failed step was already thrown; reset only repeats it.
  sqlite3_reset(statement_);
  sqlite3_clear_bindings(statement_);
  *in_use_ = false;
}

Query& Query::Bind(int index, int64_t value) {
  if (int rc = sqlite3_bind_int64(statement_, index, value); rc != SQLITE_OK) db_.Fail(rc);
  return *this;
}

Query& Query::Bind(int index, std::string_view text) {
  // SQLITE_TRANSIENT: SQLite copies the text, so temporaries may be bound.
  const int rc = sqlite3_bind_text64(statement_, index, text.data(), text.size(), SQLITE_TRANSIENT,
                                     SQLITE_UTF8);
  if (rc != SQLITE_OK) db_.Fail(rc);
  return *this;
}

Query& Query::Bind(int index, std::nullopt_t) {
  if (int rc = sqlite3_bind_null(statement_, index); rc != SQLITE_OK) db_.Fail(rc);
  return *this;
}

Query& Query::Bind(int index, const std::optional<int64_t>& value) {
  return value ? Bind(index, *value) : Bind(index, std::nullopt);
}

bool Query::Step() {
  const int rc = sqlite3_step(statement_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  db_.Fail(rc);
}

void Query::Run() {
  if (Step()) throw std::logic_error("a statement run for its effect returned a row");
}

int64_t Query::Int(int column) const { return sqlite3_column_int64(statement_, column); }

std::optional<int64_t> Query::OptionalInt(int column) const {
  if (sqlite3_column_type(statement_, column) == SQLITE_NULL) return std::nullopt;
  return Int(column);
}

std::string Query::Text(int column) const {
  const auto* text = sqlite3_column_text(statement_, column);
  if (text == nullptr) return "";
  const int bytes = sqlite3_column_bytes(statement_, column);
  return {reinterpret_cast<const char*>(text), static_cast<size_t>(bytes)};
}

void Database::Finalize::operator()(sqlite3_stmt* statement) const { sqlite3_finalize(statement); }

Database::Database(sqlite3* db, std::string name) : db_(db), name_(std::move(name)) {}

Database::Database(Database&& other) noexcept
    : db_(std::exchange(other.db_, nullptr)),
      name_(std::move(other.name_)),
      statements_(std::move(other.statements_)) {}

Database::~Database() {
  statements_.clear();  // every statement is finalized before the connection closes
  if (db_ != nullptr) sqlite3_close(db_);
}

Database Database::Open(const std::filesystem::path& path, const OpenOptions& options) {
  sqlite3* db = nullptr;
  const int rc =
      sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  Database database(db, path.string());  // closes `db` even when the open failed
  if (rc != SQLITE_OK) {
    if (db == nullptr) throw RegistryError(path.string() + ": " + sqlite3_errstr(rc));
    database.Fail(rc);
  }
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, static_cast<int>(options.busy_timeout.count()));
  return database;
}

void Database::Execute(std::string_view sql) {
  const std::string text(sql);
  if (int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, nullptr); rc != SQLITE_OK) {
    Fail(rc);
  }
}

Query Database::Prepare(const std::string& sql) {
  auto it = statements_.find(sql);
  if (it == statements_.end()) {
    sqlite3_stmt* statement = nullptr;
    const int rc = sqlite3_prepare_v3(db_, sql.c_str(), static_cast<int>(sql.size() + 1),
                                      SQLITE_PREPARE_PERSISTENT, &statement, nullptr);
    if (rc != SQLITE_OK) Fail(rc);
    it = statements_.emplace(sql, Prepared{{statement, Finalize{}}, false}).first;
  }
  if (it->second.in_use) throw std::logic_error("statement in use: " + sql);
  return {*this, it->second.statement.get(), &it->second.in_use};
}

std::string Database::PragmaText(std::string_view pragma) {
  Query query = Prepare("PRAGMA " + std::string(pragma));
  return query.Step() ? query.Text(0) : "";
}

int64_t Database::PragmaInt(std::string_view pragma) {
  Query query = Prepare("PRAGMA " + std::string(pragma));
  return query.Step() ? query.Int(0) : 0;
}

int64_t Database::LastInsertId() const { return sqlite3_last_insert_rowid(db_); }
int64_t Database::Changes() const { return sqlite3_changes64(db_); }
bool Database::ReadOnly() const { return sqlite3_db_readonly(db_, "main") == 1; }
bool Database::InTransaction() const { return sqlite3_get_autocommit(db_) == 0; }

void Database::Fail(int code) const {
  // The connection's message names the constraint, the file...; the code's
  // generic one is all there is without a connection.
  std::string message =
      name_ + ": " + (db_ != nullptr ? sqlite3_errmsg(db_) : sqlite3_errstr(code));
  // "attempt to write a readonly database" does not say what to fix.
  if ((code & 0xff) == SQLITE_READONLY) message += " (the file or its directory cannot be written)";
  throw RegistryError(message);
}

Transaction::Transaction(Database& db, TransactionKind kind) : db_(db) {
  db_.Execute(kind == TransactionKind::kWrite ? "BEGIN IMMEDIATE" : "BEGIN");
}

Transaction::~Transaction() {
  if (done_ || !db_.InTransaction()) return;  // SQLite may have rolled back by itself
  try {
    db_.Execute("ROLLBACK");
  } catch (const RegistryError&) {
    // Nothing more to do: the connection's next BEGIN reports what is wrong.
  }
}

void Transaction::Commit() {
  db_.Execute("COMMIT");
  done_ = true;
}

}  // namespace mqota::fleet::sqlite
