// mqota-fleet-sim as an operator runs it: --help, one-line errors with exit
// code 2, and a whole run over mutual TLS against the broker `mqota certs`
// and `mqota broker-config` set up (each device its own certificate, the
// production ACL), ending with exit 0, an events file and a summary line.
#include <gtest/gtest.h>
#include <pwd.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "fleet_fixture.h"

namespace mqota::sim::testing {
namespace {

std::string Sim() { return mt::BinPath("mqota-fleet-sim"); }

size_t Lines(const std::string& text) {
  return static_cast<size_t>(std::count(text.begin(), text.end(), '\n'));
}

TEST(FleetSimProcess, HelpTellsTheOptions) {
  const auto r = mt::RunProcess({Sim(), "--help"}, 10s);
  EXPECT_EQ(r.exit_code, 0);
  for (const char* option : {"--devices", "--until-version", "--drop-share", "--power-cut-share",
                             "--swap-cut-share", "--hang-version", "--flash-op-us", "--latency-ms",
                             "--tls", "--certs", "--threads", "--trust-key"}) {
    EXPECT_NE(r.out.find(option), std::string::npos) << option;
  }
}

TEST(FleetSimProcess, ErrorsAreOneLineAndExitTwo) {
  const std::vector<std::vector<std::string>> cases = {
      {"--sign-key", KeyPath()},  // how long?
      {"--sign-key", KeyPath(), "--duration", "1", "--broker", "127.0.0.1:70000"},
      {"--duration", "1"},  // no key
      {"--sign-key", KeyPath(), "--duration", "1", "--drop-share", "2"},
      {"--sign-key", KeyPath(), "--duration", "1", "--tls"},  // no --certs
      {"--sign-key", KeyPath(), "--duration", "1", "--hang-version", "one"},
      {"--no-such-option"},
  };
  for (const auto& args : cases) {
    std::vector<std::string> argv = {Sim()};
    argv.insert(argv.end(), args.begin(), args.end());
    const auto r = mt::RunProcess(argv, 10s);
    EXPECT_EQ(r.exit_code, 2) << args.back() << ": " << r.err;
    EXPECT_EQ(Lines(r.err), 1u) << r.err;
    EXPECT_EQ(r.err.rfind("mqota-fleet-sim: ", 0), 0u) << r.err;
  }
}

std::string Self() {
  const passwd* pw = getpwuid(geteuid());
  return pw ? pw->pw_name : "root";
}

TEST(FleetSimProcess, UpdatesAFleetOverMutualTls) {
  mt::TempDir dir;
  const auto pki = dir.path() / "pki";
  const std::string mqota = mt::BinPath("mqota");
  auto r = mt::RunProcess({mqota, "certs", "--out", pki.string(), "--device", "sim-0000",
                           "--device", "sim-0001", "--device", "sim-0002"},
                          30s);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const int port = mt::FreeLoopbackPort();
  const auto broker_dir = dir.path() / "broker";
  r = mt::RunProcess(
      {mqota, "broker-config", "--certs", pki.string(), "--out", broker_dir.string(), "--port",
       std::to_string(port), "--log", (broker_dir / "mosquitto.log").string(), "--user", Self()},
      30s);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto broker = mt::MosquittoBroker::FromConfigFile(broker_dir / "mosquitto.conf", port,
                                                    broker_dir / "mosquitto.log");

  std::filesystem::create_directories(dir.path() / "catalog");
  mt::WriteFileBytes(dir.path() / "catalog" / "app-1.1.0.bin",
                     SignedImage({1, 1, 0, 0}, size_t{40} * 1024));
  ServerProcess server(dir.path(), dir.path() / "catalog", port,
                       {"--tls", "--ca", (pki / "ca.crt").string(), "--cert",
                        (pki / "clients/mqota-server.crt").string(), "--key",
                        (pki / "clients/mqota-server.key").string()});
  ASSERT_TRUE(server.WaitReady());

  const auto events_file = dir.path() / "events.jsonl";
  r = mt::RunProcess({Sim(),
                      "--devices",
                      "3",
                      "--tls",
                      "--certs",
                      pki.string(),
                      "--broker",
                      "127.0.0.1:" + std::to_string(port),
                      "--sign-key",
                      KeyPath(),
                      "--image-size",
                      "40960",
                      "--until-version",
                      "1.1.0",
                      "--duration",
                      "25",
                      "--check-interval",
                      "2",
                      "--threads",
                      "2",
                      "--events",
                      events_file.string()},
                     40s);
  ASSERT_EQ(r.exit_code, 0) << r.err << "\n" << server.Log() << "\n" << broker->Log();
  // The summary is the last line (the events went to the file).
  ASSERT_EQ(Lines(r.out), 1u) << r.out;
  const auto summary = nlohmann::json::parse(r.out);
  EXPECT_EQ(summary["event"], "summary");
  EXPECT_EQ(summary["devices"], 3);
  EXPECT_EQ(summary["versions"]["1.1.0"], 3);
  EXPECT_EQ(summary["states"]["confirmed"], 3);

  std::ifstream in(events_file);
  std::map<std::string, std::set<std::string>> seen;
  for (std::string line; std::getline(in, line);) {
    const auto e = nlohmann::json::parse(line);
    ASSERT_TRUE(e.contains("time") && e.contains("t") && e.contains("device")) << line;
    seen[e["device"]].insert(e["event"].get<std::string>() + " " + e.value("version", ""));
  }
  for (const char* id : {"sim-0000", "sim-0001", "sim-0002"}) {
    for (const char* expected : {"connected 1.0.0", "asked 1.0.0", "offered 1.1.0", "pending 1.1.0",
                                 "booted 1.1.0", "confirmed 1.1.0"}) {
      EXPECT_TRUE(seen[id].contains(expected)) << id << " never said " << expected;
    }
  }
}

}  // namespace
}  // namespace mqota::sim::testing
