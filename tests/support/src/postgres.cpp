#include "mqota/testing/postgres.h"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

#include "mqota/ports/posix/loopback.h"
#include "mqota/testing/process.h"

namespace mqota::testing {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr auto kReadyTimeout = std::chrono::seconds(30);
constexpr auto kInitdbTimeout = std::chrono::seconds(60);
constexpr auto kStopTimeout = std::chrono::seconds(10);
constexpr int kStartAttempts = 3;

bool HasBinaries(const fs::path& dir) {
  std::error_code ec;
  for (const char* name : {"initdb", "postgres", "pg_isready", "psql"}) {
    if (!fs::is_regular_file(dir / name, ec)) return false;
  }
  return true;
}

// Who runs initdb and postgres: `nobody` when the tests run as root (the
// server refuses root), the test's own user otherwise.
struct ServerUser {
  bool switch_user = false;
  uid_t uid = 0;
  gid_t gid = 0;
};

ServerUser UnprivilegedUser() {
  ServerUser user;
  if (geteuid() != 0) return user;
  const passwd* nobody = getpwnam("nobody");
  if (nobody == nullptr) throw std::runtime_error("running as root, and there is no user nobody");
  user.switch_user = true;
  user.uid = nobody->pw_uid;
  user.gid = nobody->pw_gid;
  return user;
}

// Starts `argv` as the server's user in its own process group, output to
// `log` (appended). In the child only async-signal-safe calls: the test
// binary may have threads.
pid_t Spawn(const std::vector<std::string>& argv, const fs::path& log, bool die_with_parent) {
  const ServerUser user = UnprivilegedUser();
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  // A fixed environment: no PG* variable of the caller's leaks in, and the
  // C locale whatever the machine's is.
  char lc_all[] = "LC_ALL=C";
  char path[] = "PATH=/usr/bin:/bin";
  char tz[] = "TZ=UTC";
  char* env[] = {lc_all, path, tz, nullptr};
  const int out = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (out < 0) throw std::runtime_error("cannot open " + log.string());
  const pid_t pid = fork();
  if (pid < 0) {
    close(out);
    throw std::runtime_error("fork failed");
  }
  if (pid == 0) {
    setpgid(0, 0);
    const int devnull = open("/dev/null", O_RDONLY);
    dup2(devnull, 0);
    dup2(out, 1);
    dup2(out, 2);
    if (user.switch_user) {
      if (setgroups(0, nullptr) != 0 || setgid(user.gid) != 0 || setuid(user.uid) != 0) _exit(126);
    }
    // After the switch (a change of user clears it): a test binary that
    // dies, even by SIGKILL, takes its server along (SIGINT: fast shutdown).
    if (die_with_parent) prctl(PR_SET_PDEATHSIG, SIGINT);
    execve(args[0], args.data(), env);
    _exit(127);
  }
  close(out);
  return pid;
}

// Waits for `pid` at most `timeout`; its exit status, or nullopt when it is
// still running.
std::optional<int> WaitFor(pid_t pid, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) return status;
    if (Clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

// `cp -a`: modes and owners kept (a cluster's files are its user's, its
// directory 0700, or postgres refuses it).
bool CopyTree(const fs::path& from, const fs::path& to) {
  return RunProcess({"/bin/cp", "-a", from.string(), to.string()}, std::chrono::seconds(60))
             .exit_code == 0;
}

// Where the first server of a build keeps a copy of the cluster initdb made:
// initdb takes about a second, copying its result a tenth. In the build tree
// (`rm -rf build` removes it), named after the PostgreSQL major version
// (bin's parent, /usr/lib/postgresql/15) and the options below ("v1":
// change it with them).
fs::path TemplateCluster(const fs::path& bin) {
  return fs::path(MQOTA_POSTGRES_TEMPLATE_DIR) /
         ("cluster-" + bin.parent_path().filename().string() + "-v1");
}

// Publishes `data` as the template: copied beside it, then renamed into
// place, so a template that exists is whole; when another process published
// one first, ours goes.
void PublishTemplate(const fs::path& data, const fs::path& templ) {
  std::error_code ec;
  fs::create_directories(templ.parent_path(), ec);
  const fs::path staging = templ.string() + ".staging-" + std::to_string(getpid());
  if (CopyTree(data, staging)) fs::rename(staging, templ, ec);
  fs::remove_all(staging, ec);  // when the rename failed (or the copy did)
}

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

std::optional<fs::path> PostgresServer::FindBinaries() {
  if (const char* bin = std::getenv("MQOTA_POSTGRES_BIN"); bin != nullptr && *bin != '\0') {
    return HasBinaries(bin) ? std::optional<fs::path>(bin) : std::nullopt;
  }
  std::vector<std::pair<int, fs::path>> found;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/usr/lib/postgresql", ec)) {
    const std::string version = entry.path().filename().string();
    if (version.empty() || !std::all_of(version.begin(), version.end(), ::isdigit)) continue;
    if (HasBinaries(entry.path() / "bin"))
      found.emplace_back(std::stoi(version), entry.path() / "bin");
  }
  if (found.empty()) return std::nullopt;
  return std::max_element(found.begin(), found.end())->second;
}

std::string PostgresServer::MissingBinaries() {
  return "PostgreSQL server binaries not found (/usr/lib/postgresql/<version>/bin or "
         "$MQOTA_POSTGRES_BIN): install the postgresql package (scripts/install-deps.sh)";
}

PostgresServer::PostgresServer() {
  const auto bin = FindBinaries();
  if (!bin) throw std::runtime_error(MissingBinaries());
  bin_ = *bin;
  std::string pattern = (fs::temp_directory_path() / "mqota-pg-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  dir_ = pattern;
  std::error_code ec;
  try {
    const ServerUser user = UnprivilegedUser();
    if (user.switch_user && chown(dir_.c_str(), user.uid, user.gid) != 0) {
      throw std::runtime_error("cannot give " + dir_.string() + " to the server's user");
    }
    const fs::path templ = TemplateCluster(bin_);
    if (!fs::is_directory(templ, ec) || !CopyTree(templ, dir_ / "data")) {
      fs::remove_all(dir_ / "data", ec);  // a copy that failed half-way
      InitDb();
      PublishTemplate(dir_ / "data", templ);
    }
    // The free port may be taken by another process before postgres binds
    // it (tests run in parallel): then postgres exits, and another port is
    // tried, three in all.
    for (int attempt = 1;; ++attempt) {
      port_ = posix::FreeLoopbackPort();
      try {
        Start();
        break;
      } catch (const std::runtime_error&) {
        if (attempt == kStartAttempts) throw;
      }
    }
  } catch (...) {
    // No destructor runs for a constructor that throws.
    fs::remove_all(dir_, ec);
    throw;
  }
}

void PostgresServer::InitDb() {
  const pid_t initdb =
      Spawn({(bin_ / "initdb").string(), "-D", (dir_ / "data").string(), "-U", kUser,
             "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync", "--no-instructions"},
            dir_ / "initdb.log", false);
  const auto status = WaitFor(initdb, kInitdbTimeout);
  if (!status) {
    kill(-initdb, SIGKILL);
    waitpid(initdb, nullptr, 0);
  }
  if (!status || !WIFEXITED(*status) || WEXITSTATUS(*status) != 0) {
    throw std::runtime_error("initdb failed: " + ReadFile(dir_ / "initdb.log"));
  }
}

void PostgresServer::Start() {
  pid_ = Spawn(
      {(bin_ / "postgres").string(), "-D", (dir_ / "data").string(), "-p", std::to_string(port_),
       "-k", dir_.string(), "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c",
       "full_page_writes=off", "-c", "max_connections=40", "-c", "shared_buffers=16MB"},
      dir_ / "postgres.log", true);
  const auto deadline = Clock::now() + kReadyTimeout;
  while (Clock::now() < deadline) {
    const auto ready = RunProcess({(bin_ / "pg_isready").string(), "-q", "-h", "127.0.0.1", "-p",
                                   std::to_string(port_), "-U", kUser, "-d", "postgres", "-t", "1"},
                                  std::chrono::seconds(5));
    if (ready.exit_code == 0) return;
    if (WaitFor(pid_, std::chrono::milliseconds(0))) {
      pid_ = -1;
      throw std::runtime_error("postgres exited at start: " + Log());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  Stop();
  throw std::runtime_error("postgres did not accept connections within 30 s: " + Log());
}

void PostgresServer::Stop() {
  if (pid_ <= 0) return;
  // SIGINT is PostgreSQL's fast shutdown: it ends the sessions still
  // connected and checkpoints (SIGTERM, the smart one, would wait for
  // them). A server that does not stop in time is killed with its
  // children.
  kill(pid_, SIGINT);
  if (!WaitFor(pid_, kStopTimeout)) {
    kill(-pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  pid_ = -1;
}

PostgresServer::~PostgresServer() {
  Stop();
  std::error_code ignored;
  fs::remove_all(dir_, ignored);
}

void PostgresServer::Restart() {
  Stop();
  Start();
}

std::string PostgresServer::Url(const std::string& database) const {
  return std::string("postgresql://") + kUser + "@127.0.0.1:" + std::to_string(port_) + "/" +
         database;
}

std::string PostgresServer::Sql(const std::string& database, const std::string& sql) const {
  const auto r = RunProcess({(bin_ / "psql").string(), "-X", "-q", "-A", "-t", "-v",
                             "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", std::to_string(port_),
                             "-U", kUser, "-d", database, "-c", sql});
  if (r.exit_code != 0) throw std::runtime_error("psql: " + sql + ": " + r.err);
  std::string out = r.out;
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

void PostgresServer::CreateDatabase(const std::string& name) {
  Sql("postgres", "CREATE DATABASE \"" + name + "\"");
}

void PostgresServer::DropDatabase(const std::string& name) {
  Sql("postgres", "DROP DATABASE IF EXISTS \"" + name + "\" WITH (FORCE)");
}

std::string PostgresServer::Log() const { return ReadFile(dir_ / "postgres.log"); }

PostgresServer& SharedPostgres() {
  // Destroyed at exit, after the tests: the server stops, its files go.
  static PostgresServer server;
  return server;
}

}  // namespace mqota::testing
