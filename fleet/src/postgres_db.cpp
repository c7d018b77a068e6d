#include "postgres_db.h"

#include <libpq-fe.h>

#include <cctype>
#include <charconv>
#include <memory>
#include <stdexcept>
#include <utility>

namespace mqota::fleet::postgres {
namespace {

// Parameter types, as PostgreSQL's catalog numbers them (pg_type.oid):
// stating them spares the server guessing ($1 = '' would be text anyway,
// CASE WHEN $5 would not be a boolean).
constexpr Oid kInt8 = 20;
constexpr Oid kText = 25;
constexpr Oid kBool = 16;

// libpq's messages span lines ("...failed: Connection refused\n\tIs the
// server running..."): one line, so a log line stays one line.
std::string OneLine(std::string_view text) {
  std::string line;
  bool space = false;
  for (const char c : text) {
    if (std::isspace(static_cast<unsigned char>(c)) != 0) {
      space = !line.empty();
      continue;
    }
    if (space) line += ' ';
    space = false;
    line += c;
  }
  return line;
}

// The URL's text with the password of its user part left out, for a URL
// libpq cannot parse (its own message says why).
std::string WithoutPassword(const std::string& url) {
  const size_t scheme = url.find("://");
  if (scheme == std::string::npos) return url;
  const size_t start = scheme + 3;
  const size_t at = url.find('@', start);
  const size_t slash = url.find('/', start);
  if (at == std::string::npos || (slash != std::string::npos && slash < at)) return url;
  const size_t colon = url.find(':', start);
  if (colon == std::string::npos || colon > at) return url;
  return url.substr(0, colon) + url.substr(at);
}

void IgnoreNotice(void* /*arg*/, const char* /*message*/) {
  // "relation already exists, skipping" and the like: the registry reports
  // what failed through its exceptions, not on stderr.
}

}  // namespace

std::string DisplayName(const std::string& url) {
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(url.c_str(), &error);
  if (options == nullptr) {
    PQfreemem(error);
    return WithoutPassword(url);
  }
  std::string user, host, port, dbname;
  for (const PQconninfoOption* o = options; o->keyword != nullptr; ++o) {
    if (o->val == nullptr) continue;
    const std::string_view keyword = o->keyword;
    if (keyword == "user") user = o->val;
    if (keyword == "host" || (keyword == "hostaddr" && host.empty())) host = o->val;
    if (keyword == "port") port = o->val;
    if (keyword == "dbname") dbname = o->val;
  }
  PQconninfoFree(options);
  std::string name = "postgresql://";
  if (!user.empty()) name += user + "@";
  name += host;
  if (!port.empty()) name += ":" + port;
  return name + "/" + dbname;
}

Query::Query(Connection& db, std::string sql) : db_(db), sql_(std::move(sql)) {}

Query::~Query() { PQclear(result_); }

Query& Query::Bind(int64_t value) {
  types_.push_back(kInt8);
  values_.emplace_back(std::to_string(value));
  return *this;
}

Query& Query::Bind(std::string_view text) {
  types_.push_back(kText);
  values_.emplace_back(std::string(text));
  return *this;
}

Query& Query::Bind(bool value) {
  types_.push_back(kBool);
  values_.emplace_back(value ? "t" : "f");
  return *this;
}

Query& Query::Bind(const std::optional<int64_t>& value) {
  if (value) return Bind(*value);
  types_.push_back(kInt8);
  values_.emplace_back(std::nullopt);
  return *this;
}

void Query::Execute() {
  const std::string statement = db_.PreparedName(sql_, types_);
  std::vector<const char*> values;
  values.reserve(values_.size());
  for (const auto& value : values_) values.push_back(value ? value->c_str() : nullptr);
  result_ = PQexecPrepared(db_.raw(), statement.c_str(), static_cast<int>(values.size()),
                           values.data(), nullptr, nullptr, 0);
  const ExecStatusType status = PQresultStatus(result_);
  if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
    db_.Fail(std::exchange(result_, nullptr));
  }
  rows_ = PQntuples(result_);
}

bool Query::Step() {
  if (result_ == nullptr) Execute();
  return ++row_ < rows_;
}

void Query::Run() {
  if (Step()) throw std::logic_error("a statement run for its effect returned a row");
}

int64_t Query::Changes() const {
  if (result_ == nullptr) return 0;
  const char* text = PQcmdTuples(result_);
  int64_t changes = 0;
  std::from_chars(text, text + std::char_traits<char>::length(text), changes);
  return changes;
}

bool Query::IsNull(int column) const { return PQgetisnull(result_, row_, column) != 0; }

int64_t Query::Int(int column) const {
  if (IsNull(column)) return 0;
  const char* text = PQgetvalue(result_, row_, column);
  const int length = PQgetlength(result_, row_, column);
  int64_t value = 0;
  const auto [end, error] = std::from_chars(text, text + length, value);
  if (error != std::errc() || end != text + length) {
    throw RegistryError(db_.name() + ": \"" + std::string(text, static_cast<size_t>(length)) +
                        "\" is not an integer (column " + std::to_string(column) + " of " + sql_ +
                        ")");
  }
  return value;
}

std::optional<int64_t> Query::OptionalInt(int column) const {
  if (IsNull(column)) return std::nullopt;
  return Int(column);
}

std::string Query::Text(int column) const {
  const int length = PQgetlength(result_, row_, column);
  return {PQgetvalue(result_, row_, column), static_cast<size_t>(length)};
}

bool Query::Bool(int column) const {
  return !IsNull(column) && PQgetvalue(result_, row_, column)[0] == 't';
}

Connection::Connection(pg_conn* conn, std::string name) : conn_(conn), name_(std::move(name)) {}

Connection::Connection(Connection&& other) noexcept
    : conn_(std::exchange(other.conn_, nullptr)),
      name_(std::move(other.name_)),
      prepared_(std::move(other.prepared_)) {}

Connection::~Connection() {
  if (conn_ != nullptr) PQfinish(conn_);
}

Connection Connection::Open(const std::string& url) {
  // Defaults first: the URL, expanded where it stands, may override them.
  // TCP keep-alives and a user timeout: a database host that vanishes (a
  // partition, a power cut: no FIN) fails a call within about a minute
  // instead of the kernel's two hours of keep-alive or fifteen minutes of
  // retransmissions.
  const char* keywords[] = {
      "application_name", "connect_timeout",  "keepalives_idle", "keepalives_interval",
      "keepalives_count", "tcp_user_timeout", "dbname",          nullptr};
  const char* values[] = {"mqota-server", "10", "30", "10", "3", "60000", url.c_str(), nullptr};
  Connection db(PQconnectdbParams(keywords, values, 1), DisplayName(url));
  if (db.conn_ == nullptr) throw DatabaseError(db.name_ + ": out of memory", "");
  if (PQstatus(db.conn_) != CONNECTION_OK) db.Fail(nullptr);
  db.StartSession();
  return db;
}

void Connection::StartSession() {
  PQsetNoticeProcessor(conn_, &IgnoreNotice, nullptr);
  // A session that sits in a transaction is a client that froze or
  // vanished: the registry's transactions run their statements back to
  // back. Its row locks (a campaign's, a batch's devices') would stop every
  // other server's decisions and writes on those rows, so PostgreSQL ends
  // such a session after kIdleInTransactionTimeout, unless the URL
  // (options=-c ...), the role, the database or the server's configuration
  // chose a value of its own.
  Query source =
      Prepare("SELECT source FROM pg_settings WHERE name = 'idle_in_transaction_session_timeout'");
  if (source.Step() && source.Text(0) == "default") {
    Execute(std::string("SET idle_in_transaction_session_timeout = '") + kIdleInTransactionTimeout +
            "'");
  }
}

void Connection::Execute(std::string_view sql) {
  PGresult* result = PQexec(conn_, std::string(sql).c_str());
  const ExecStatusType status = PQresultStatus(result);
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) Fail(result);
  PQclear(result);
}

std::string Connection::Setting(std::string_view name) {
  Query q = Prepare("SELECT current_setting($1)");
  return q.Bind(name).Step() ? q.Text(0) : "";
}

bool Connection::ReconnectIfBroken() {
  if (PQstatus(conn_) == CONNECTION_OK) return false;
  PQreset(conn_);
  prepared_.clear();  // they went with the old session
  if (PQstatus(conn_) != CONNECTION_OK) return false;
  StartSession();
  return true;
}

bool Connection::InTransaction() const {
  return conn_ != nullptr && PQtransactionStatus(conn_) != PQTRANS_IDLE &&
         PQtransactionStatus(conn_) != PQTRANS_UNKNOWN;
}

std::string Connection::PreparedName(const std::string& sql,
                                     const std::vector<unsigned int>& types) {
  if (auto it = prepared_.find(sql); it != prepared_.end()) return it->second;
  std::string name = "mqota_" + std::to_string(prepared_.size() + 1);
  PGresult* result =
      PQprepare(conn_, name.c_str(), sql.c_str(), static_cast<int>(types.size()), types.data());
  if (PQresultStatus(result) != PGRES_COMMAND_OK) Fail(result);
  PQclear(result);
  prepared_.emplace(sql, name);
  return name;
}

void Connection::Fail(PGresult* result) const {
  std::string message;
  std::string sqlstate;
  if (result != nullptr) {
    if (const char* primary = PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY)) {
      message = primary;
    }
    if (const char* state = PQresultErrorField(result, PG_DIAG_SQLSTATE)) sqlstate = state;
    PQclear(result);
  }
  // No result, or one without a message: the connection's own (it failed,
  // the server went away...).
  if (message.empty()) message = conn_ != nullptr ? PQerrorMessage(conn_) : "no connection";
  throw DatabaseError(name_ + ": " + OneLine(message), sqlstate);
}

Transaction::Transaction(Connection& db, TransactionKind kind) : db_(db) {
  const char* begin = kind == TransactionKind::kWrite
                          ? "BEGIN ISOLATION LEVEL READ COMMITTED"
                          : "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";
  try {
    db_.Execute(begin);
  } catch (const DatabaseError&) {
    // A server that restarted since the last call: libpq learns it only
    // now. Nothing was done yet, so connect again and begin once more; a
    // connection lost later in a transaction is an error for its caller.
    if (!db_.ReconnectIfBroken()) throw;
    db_.Execute(begin);
  }
}

Transaction::~Transaction() {
  if (done_ || !db_.InTransaction()) return;
  try {
    db_.Execute("ROLLBACK");
  } catch (const RegistryError&) {
    // The connection is gone or broken: the server rolled back already, and
    // the next transaction reconnects or reports why it cannot.
  }
}

void Transaction::Commit() {
  // COMMIT of a transaction a failed statement aborted answers "ROLLBACK",
  // successfully: that must not pass for a commit.
  if (PQtransactionStatus(db_.raw()) == PQTRANS_INERROR) {
    throw DatabaseError(db_.name() + ": the transaction was aborted and rolled back", "");
  }
  db_.Execute("COMMIT");
  done_ = true;
}

}  // namespace mqota::fleet::postgres
