// The mqota-server binary as an operator runs it: start-up errors are one
// line and a non-zero exit, --help tells the options, and SIGTERM ends it
// with exit 0 within 2 s, even in the middle of a stream.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mqota/testing/broker.h"
#include "mqota/testing/postgres.h"
#include "mqota/testing/process.h"
#include "test_device.h"
#include "test_images.h"

namespace mqota::server {
namespace {

using mqota::testing::BinPath;
using mqota::testing::MosquittoBroker;
using mqota::testing::PostgresServer;
using mqota::testing::RunProcess;
using mqota::testing::TempDir;
using namespace std::chrono_literals;

std::string Server() { return BinPath("mqota-server"); }

size_t Lines(const std::string& text) {
  return static_cast<size_t>(std::count(text.begin(), text.end(), '\n'));
}

// A running mqota-server whose stderr is read until a line says "ready".
class ServerProcess {
 public:
  explicit ServerProcess(const std::vector<std::string>& argv) {
    int pipe_fds[2];
    if (pipe2(pipe_fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
    pid_ = fork();
    if (pid_ == 0) {
      dup2(pipe_fds[1], 2);
      std::vector<char*> args;
      for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      execv(args[0], args.data());
      _exit(127);
    }
    close(pipe_fds[1]);
    err_ = pipe_fds[0];
  }
  ~ServerProcess() {
    if (pid_ > 0 && !exited_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    close(err_);
  }

  // Reads stderr until `needle` appears (at or after `from` in the log) or
  // the timeout passes.
  bool WaitFor(const std::string& needle, std::chrono::milliseconds timeout, size_t from = 0) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (log_.find(needle, from) == std::string::npos) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      pollfd fd{err_, POLLIN, 0};
      if (poll(&fd, 1, static_cast<int>(left.count())) <= 0) continue;
      char buffer[4096];
      const ssize_t n = read(err_, buffer, sizeof buffer);
      if (n <= 0) return log_.find(needle, from) != std::string::npos;
      log_.append(buffer, static_cast<size_t>(n));
    }
    return true;
  }

  // Sends `signal` and waits at most `timeout` for the exit; -1 if it did not.
  int SignalAndWait(int signal, std::chrono::milliseconds timeout,
                    std::chrono::milliseconds& took) {
    const auto start = std::chrono::steady_clock::now();
    kill(pid_, signal);
    while (std::chrono::steady_clock::now() - start < timeout) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        exited_ = true;
        took = std::chrono::duration_cast<std::chrono::milliseconds>(
            std::chrono::steady_clock::now() - start);
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      }
      std::this_thread::sleep_for(5ms);
    }
    return -1;
  }

  void Signal(int signal) { kill(pid_, signal); }
  // Not exited (nor killed) so far.
  bool Alive() {
    if (exited_) return false;
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) exited_ = true;
    return !exited_;
  }

  const std::string& log() const { return log_; }
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  int err_ = -1;
  bool exited_ = false;
  std::string log_;
};

class ServerProcessTest : public ::testing::Test {
 protected:
  ServerProcessTest() {
    mqota::testing::WriteFileBytes(dir_ / "app.bin", testing::SignedImage({1, 2, 0, 0}, 600000));
  }
  TempDir dir_;
};

TEST_F(ServerProcessTest, HelpTellsTheOptions) {
  const auto r = RunProcess({Server(), "--help"}, 10s);
  EXPECT_EQ(r.exit_code, 0);
  for (const char* option :
       {"--host", "--port", "--tls", "--ca", "--cert", "--key", "--prefix", "--catalog", "--board",
        "--workers", "--window", "--log-level", "--verify-key", "--offer-quiet", "postgresql://",
        "SIGTERM", "SIGHUP"}) {
    EXPECT_NE(r.out.find(option), std::string::npos) << option;
  }
}

TEST_F(ServerProcessTest, BadArgumentsAreOneLineAndExitTwo) {
  const std::string image = (dir_ / "app.bin").string();
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{},
                                             {"--board", "B", "--workers", "0", image},
                                             {"--board", "B", "--tls", image},
                                             {"--board", "B", "--ca", image, image},
                                             {"--board", "B", "--prefix", "a/#", image},
                                             {"--board", "B", "--log-level", "loud", image},
                                             {"--board", "B", "--port", "70000", image},
                                             {"--board", "B", "--offer-quiet", "-1", image},
                                             {"--board", "B", (dir_ / "missing.bin").string()},
                                             {"--board", "B", "--verify-key", image, image},
                                             // A group needs a registry it shares.
                                             {"--board", "B", "--share-group", "g", image},
                                             {"--board", "B", "--share-group", "a/b", "--db",
                                              "postgresql://u@127.0.0.1:1/d", image}}) {
    std::vector<std::string> argv = {Server()};
    argv.insert(argv.end(), args.begin(), args.end());
    const auto r = RunProcess(argv, 10s);
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_EQ(Lines(r.err), 1u) << r.err;
    EXPECT_EQ(r.err.rfind("mqota-server: ", 0), 0u) << r.err;
  }
}

TEST_F(ServerProcessTest, ABrokenImageIsRefusedAtStartUp) {
  auto bytes = testing::SignedImage({1, 0, 0, 0}, 5000);
  bytes[0x500] ^= 0xff;
  mqota::testing::WriteFileBytes(dir_ / "broken.bin", bytes);
  const auto r = RunProcess({Server(), "--board", "B", (dir_ / "broken.bin").string()}, 10s);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(Lines(r.err), 1u) << r.err;
  EXPECT_NE(r.err.find("broken.bin: image has an invalid hash"), std::string::npos) << r.err;
}

TEST_F(ServerProcessTest, AnUnreachableBrokerIsOneLineAndExitOne) {
  const int port = mqota::testing::FreeLoopbackPort();
  const auto start = std::chrono::steady_clock::now();
  const auto r = RunProcess({Server(), "--db", (dir_ / "fleet.db").string(), "--board", "B",
                             "--port", std::to_string(port), "--connect-timeout", "0.5",
                             "--log-level", "warn", (dir_ / "app.bin").string()},
                            10s);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("cannot connect to the broker at 127.0.0.1:" + std::to_string(port)),
            std::string::npos)
      << r.err;
  EXPECT_EQ(Lines(r.err), 1u) << r.err;
}

TEST_F(ServerProcessTest, ServesThenExitsZeroOnSigtermWithinTwoSeconds) {
  MosquittoBroker broker(dir_ / "broker", {});
  ServerProcess server({Server(), "--db", (dir_ / "fleet.db").string(), "--offer-newest", "--api",
                        "off", "--port", std::to_string(broker.port()), "--board", "BOARD_A",
                        "--catalog", dir_.path().string(), "--log-level", "debug"});
  ASSERT_TRUE(server.WaitFor("ready", 10s)) << server.log();
  posix::MqttOptions options;
  options.port = broker.port();
  testing::TestDevice device(options, "BOARD_A", "mqota/BOARD_A/OTAImage/p/1");
  ASSERT_TRUE(device.Connect());
  device.Send("Update Availability", "1.0.0");
  const auto job = device.WaitDocument();
  ASSERT_FALSE(job.is_null()) << server.log();
  EXPECT_EQ(job["Version"], "1.2.0");
  device.Send("Request Update", "1.0.0");
  std::vector<uint8_t> image;
  EXPECT_EQ(device.WaitChunks(147, image).size(), 147u);  // 600 KB
  std::chrono::milliseconds took{};
  EXPECT_EQ(server.SignalAndWait(SIGTERM, 2s, took), 0) << server.log();
  EXPECT_LT(took, 2s);
  server.WaitFor("stopped", 1s);
  EXPECT_NE(server.log().find("stopped after 1 streams"), std::string::npos) << server.log();
}

// The registry is one writer's: a second server on the same file stops at
// once and says who holds it; the first keeps serving, and after it is
// gone (kill -9 too) the file opens again with what it recorded.
TEST_F(ServerProcessTest, ASecondServerOnOneDatabaseIsRefusedWithWhoHoldsIt) {
  MosquittoBroker broker(dir_ / "broker", {});
  const std::string db = (dir_ / "fleet.db").string();
  const std::vector<std::string> args = {
      "--db",    db,           "--port",    std::to_string(broker.port()),
      "--board", "BOARD_A",    "--catalog", dir_.path().string(),
      "--api",   "127.0.0.1:0"};
  std::vector<std::string> first = {Server()};
  first.insert(first.end(), args.begin(), args.end());
  ServerProcess server(first);
  ASSERT_TRUE(server.WaitFor("ready", 10s)) << server.log();
  std::vector<std::string> second = first;
  second.push_back("--log-level=warn");
  const auto r = RunProcess(second, 10s);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(Lines(r.err), 1u) << r.err;
  EXPECT_NE(r.err.find(db + " is in use by another mqota-server (pid " +
                       std::to_string(server.pid()) + ")"),
            std::string::npos)
      << r.err;
  std::chrono::milliseconds took{};
  server.SignalAndWait(SIGKILL, 2s, took);
  ServerProcess again(first);
  EXPECT_TRUE(again.WaitFor("ready", 10s)) << again.log();
  EXPECT_NE(again.log().find("registry: " + db), std::string::npos) << again.log();
}

// --db postgresql://...: the registry is a PostgreSQL database, which
// several servers share (no lock refuses the second); the log says which
// backend, and no password.
TEST_F(ServerProcessTest, TwoServersShareAPostgresDatabase) {
  if (!PostgresServer::FindBinaries()) GTEST_SKIP() << PostgresServer::MissingBinaries();
  PostgresServer postgres;
  postgres.CreateDatabase("fleet");
  const std::string url = postgres.Url("fleet");
  const std::string with_password = "postgresql://" + std::string(PostgresServer::kUser) +
                                    ":pw@127.0.0.1:" + std::to_string(postgres.port()) + "/fleet";
  MosquittoBroker broker(dir_ / "broker", {});
  std::vector<std::unique_ptr<ServerProcess>> servers;
  servers.reserve(2);
  for (int i = 0; i < 2; ++i) {
    // --api off and --patch-cache: with a URL the token files and the
    // patches would default to the working directory.
    servers.push_back(std::make_unique<ServerProcess>(std::vector<std::string>{
        Server(), "--db", with_password, "--port", std::to_string(broker.port()), "--board",
        "BOARD_A", "--catalog", dir_.path().string(), "--api", "off", "--patch-cache",
        (dir_ / "patches").string(), "--client-id", "server-" + std::to_string(i)}));
  }
  for (auto& server : servers) {
    ASSERT_TRUE(server->WaitFor("ready", 20s)) << server->log();
    EXPECT_NE(server->log().find("registry: " + url + " (PostgreSQL "), std::string::npos)
        << server->log();
    EXPECT_EQ(server->log().find("pw@"), std::string::npos) << server->log();
  }
  EXPECT_EQ(postgres.Sql("fleet", "SELECT MAX(version) FROM schema_version"), "2");
  for (auto& server : servers) {
    std::chrono::milliseconds took{};
    EXPECT_EQ(server->SignalAndWait(SIGTERM, 5s, took), 0) << server->log();
  }
}

TEST_F(ServerProcessTest, SigtermAbandonsStreamsStillRunningAfterTheGrace) {
  // 40 devices (nobody listening: the broker drops the data, the flow markers
  // still come back) ask for a 4 MiB image each: ~160 MiB, seconds of work.
  std::filesystem::remove(dir_ / "app.bin");
  mqota::testing::WriteFileBytes(dir_ / "big.bin", testing::SignedImage({1, 2, 0, 0}, 4 << 20));
  MosquittoBroker broker(dir_ / "broker", {});
  ServerProcess server({Server(), "--db", (dir_ / "fleet.db").string(), "--offer-newest", "--api",
                        "off", "--port", std::to_string(broker.port()), "--board", "BOARD_A",
                        (dir_ / "big.bin").string(), "--shutdown-grace", "0.5"});
  ASSERT_TRUE(server.WaitFor("ready", 10s)) << server.log();
  posix::MqttOptions options;
  options.port = broker.port();
  testing::TestDevice requester(options, "BOARD_A", "mqota/BOARD_A/OTAImage/r/0");
  ASSERT_TRUE(requester.Connect());
  for (int i = 0; i < 40; ++i) {
    requester.Publish(requester.request_topic(),
                      "{\"Message\": \"Request Update\", \"Version\": \"1.0.0\", "
                      "\"UniqueTopicName\": \"mqota/BOARD_A/OTAImage/r/" +
                          std::to_string(i + 1) + "\"}");
  }
  ASSERT_TRUE(server.WaitFor("r/40: sending", 10s)) << server.log();
  std::chrono::milliseconds took{};
  EXPECT_EQ(server.SignalAndWait(SIGTERM, 2s, took), 0) << server.log();
  EXPECT_LT(took, 2s);
  server.WaitFor("stopped", 1s);
  EXPECT_NE(server.log().find("abandoned"), std::string::npos) << server.log();
}

// Publishing a release: copy the image into the --catalog directory, send
// SIGHUP. A catalog that does not load keeps the old one in service.
TEST_F(ServerProcessTest, SighupReloadsTheCatalogAndABrokenOneKeepsTheOld) {
  const std::filesystem::path catalog = dir_ / "catalog";
  std::filesystem::create_directory(catalog);
  mqota::testing::WriteFileBytes(catalog / "app-1.1.0.bin",
                                 testing::SignedImage({1, 1, 0, 0}, 6000));
  MosquittoBroker broker(dir_ / "broker", {});
  ServerProcess server({Server(), "--db", (dir_ / "fleet.db").string(), "--offer-newest", "--api",
                        "off", "--port", std::to_string(broker.port()), "--board", "BOARD_A",
                        "--catalog", catalog.string(), "--verify-key",
                        mqota::testing::VectorPath("ecdsa-p256-test-key.pem").string()});
  ASSERT_TRUE(server.WaitFor("ready: 1 images", 10s)) << server.log();
  posix::MqttOptions options;
  options.port = broker.port();
  testing::TestDevice device(options, "BOARD_A", "mqota/BOARD_A/OTAImage/dev-1/0123456789abcdef");
  ASSERT_TRUE(device.Connect());
  auto ask = [&](const std::string& running) {
    device.Send("Update Availability", running);
    return device.WaitDocument(5s);
  };
  auto document = ask("1.1.0");
  ASSERT_FALSE(document.is_null()) << server.log();
  EXPECT_EQ(document["Message"], "No Update Available");
  document = ask("1.0.0");
  ASSERT_FALSE(document.is_null()) << server.log();
  EXPECT_EQ(document["Version"], "1.1.0");

  // A newer release, then SIGHUP.
  mqota::testing::WriteFileBytes(catalog / "app-1.3.0.bin",
                                 testing::SignedImage({1, 3, 0, 0}, 7000));
  size_t mark = server.log().size();
  server.Signal(SIGHUP);
  ASSERT_TRUE(server.WaitFor("catalog reloaded: 2 images", 10s, mark)) << server.log();
  EXPECT_NE(server.log().find("app-1.3.0.bin", mark), std::string::npos) << server.log();
  document = ask("1.1.0");
  ASSERT_FALSE(document.is_null()) << server.log();
  EXPECT_EQ(document["Message"], "Update Available");
  EXPECT_EQ(document["Version"], "1.3.0");
  EXPECT_EQ(document["UniqueTopicName"], device.topic());
  document = ask("1.3.0");
  ASSERT_FALSE(document.is_null()) << server.log();
  EXPECT_EQ(document["Message"], "No Update Available");

  // A broken file (an image whose payload was damaged) in the directory:
  // one error line, and the old catalog keeps being served.
  auto broken = testing::SignedImage({1, 4, 0, 0}, 7000);
  broken[0x400 + 100] ^= 0x01;
  mqota::testing::WriteFileBytes(catalog / "app-1.4.0.bin", broken);
  mark = server.log().size();
  server.Signal(SIGHUP);
  ASSERT_TRUE(server.WaitFor("catalog not reloaded, still serving the old one", 10s, mark))
      << server.log();
  ASSERT_TRUE(server.WaitFor("invalid hash", 1s, mark)) << server.log();  // the whole line
  const std::string after = server.log().substr(mark);
  EXPECT_NE(after.find("error"), std::string::npos) << after;
  EXPECT_NE(after.find("app-1.4.0.bin"), std::string::npos) << after;
  EXPECT_EQ(after.find("catalog reloaded"), std::string::npos) << after;
  EXPECT_TRUE(server.Alive());
  document = ask("1.1.0");
  ASSERT_FALSE(document.is_null()) << server.log();
  EXPECT_EQ(document["Version"], "1.3.0");  // not 1.4.0
  document = ask("1.3.0");
  ASSERT_FALSE(document.is_null()) << server.log();
  EXPECT_EQ(document["Message"], "No Update Available");
  EXPECT_TRUE(server.Alive());

  std::chrono::milliseconds took{};
  EXPECT_EQ(server.SignalAndWait(SIGTERM, 2s, took), 0) << server.log();
}

TEST_F(ServerProcessTest, SigintStopsAnIdleServerToo) {
  MosquittoBroker broker(dir_ / "broker", {});
  ServerProcess server({Server(), "--db", (dir_ / "fleet.db").string(), "--offer-newest", "--api",
                        "off", "--port", std::to_string(broker.port()), "--board", "BOARD_A",
                        (dir_ / "app.bin").string()});
  ASSERT_TRUE(server.WaitFor("ready", 10s)) << server.log();
  std::chrono::milliseconds took{};
  EXPECT_EQ(server.SignalAndWait(SIGINT, 2s, took), 0) << server.log();
}

}  // namespace
}  // namespace mqota::server
