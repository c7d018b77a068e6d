// mqota-fleet-sim: a fleet of simulated devices updated by an mqota-server
// over MQTT (sim/README.md). Prints one JSON line per device event and a
// summary line at the end.
// Exit codes: 0 when the run ended as asked (its duration passed, or every
// device reached --until-version), 1 when --until-version was not reached
// (the duration ran out, or SIGINT/SIGTERM), 2 for bad arguments.
#include <signal.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <memory>

#include "cli_options.h"
#include "mqota/host/command_error.h"
#include "mqota/sim/fleet_sim.h"

namespace {

using namespace mqota;
using namespace mqota::sim;

struct FileClose {
  void operator()(std::FILE* f) const {
    if (f != nullptr) std::fclose(f);
  }
};

// Runs until the duration passes, the version is reached everywhere, or a
// stop signal comes. Returns whether the version (if asked for) was reached.
bool RunFleet(FleetSim& fleet, const SimCommandLine& line, const sigset_t& stop_signals) {
  const auto until = UntilVersion(line);
  const auto start = std::chrono::steady_clock::now();
  const auto limit = std::chrono::milliseconds(static_cast<int64_t>(line.duration_s * 1000));
  const timespec poll{0, 100'000'000};
  for (;;) {
    if (until && FleetSim::Settled(fleet.statuses(), *until)) return true;
    if (line.duration_s > 0 && std::chrono::steady_clock::now() - start >= limit) return !until;
    if (sigtimedwait(&stop_signals, nullptr, &poll) > 0) return false;
  }
}

int Run(int argc, char** argv) {
  CLI::App app{
      "mqota-fleet-sim: a fleet of simulated mqota devices (real agents and bootloader "
      "cores on flash models, one MQTT connection each), updated by an mqota-server; "
      "faults injected by share of devices"};
  app.name("mqota-fleet-sim");
  SimCommandLine line;
  AddOptions(app, line);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) return app.exit(e);
    std::cerr << "mqota-fleet-sim: " << e.what() << " (see --help)\n";
    return host::kExitUsage;
  }

  // Stop signals are taken by sigtimedwait only: blocked before any thread
  // starts (threads inherit the mask).
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);  // a broker gone mid-write is a lost connection, not an exit

  try {
    FleetOptions options = MakeFleetOptions(line);
    std::unique_ptr<std::FILE, FileClose> file;
    if (!line.events_file.empty()) {
      file.reset(std::fopen(line.events_file.c_str(), "w"));
      if (!file) throw host::UsageError("--events " + line.events_file + ": cannot write it");
    }
    EventLog events(file ? file.get() : stdout);
    FleetSim fleet(std::move(options), events);
    fleet.Start();
    const bool reached = RunFleet(fleet, line, stop_signals);
    fleet.Stop();
    const FleetSummary summary = fleet.Summary();
    std::printf("%s\n", ToJsonLine(summary).c_str());
    std::fflush(stdout);
    if (!reached) {
      std::cerr << "mqota-fleet-sim: not every device reached " << line.until_version
                << " in time\n";
      return 1;
    }
    return host::kExitOk;
  } catch (const host::CommandError& e) {
    std::cerr << "mqota-fleet-sim: " << e.what() << "\n";
    return e.exit_code();
  } catch (const std::exception& e) {
    std::cerr << "mqota-fleet-sim: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace

int main(int argc, char** argv) {
  return mqota::host::RunMain("mqota-fleet-sim", Run, argc, argv, 1);
}
