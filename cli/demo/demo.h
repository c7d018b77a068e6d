// `mqota demo`: the reference code example's whole story on this machine, in
// one command. It makes certificates and a broker configuration, starts its
// own mosquitto on a free loopback port (TLS with client certificates, or
// plain TCP with --plain), mqota-server with a catalog holding 1.0.0, and a
// virtual board with 1.0.0 in its primary slot; then it publishes 1.1.0 and
// the TEST_REVERT 1.2.0 and narrates what happens, measuring the LED:
//
//   1.0.0 at 1 Hz -> 1.1.0 published -> download -> verify -> reset -> swap ->
//   1.1.0 at 10 Hz -> confirmed -> 1.2.0 published -> download -> swap -> hang
//   -> watchdog reset -> revert -> 1.1.0 at 10 Hz -> revert reported ->
//   1.2.0 not downloaded again
//
// Every step has a deadline; a failure prints one line naming the step and
// why (and the end of the relevant log), stops everything and returns 1.
#pragma once

#include <CLI/CLI.hpp>
#include <filesystem>
#include <string>

namespace mqota::cli::demo {

struct DemoOptions {
  bool plain = false;
  std::filesystem::path workdir;   // empty: a temporary directory, removed at the end
  std::filesystem::path firmware;  // signed demo images and their key (build/firmware)
  std::filesystem::path bin_dir;   // mqota-server and mqota-board
  int watchdog_ms = 4000;
  int check_interval_ms = 1000;
  int quiet_checks = 3;  // check intervals to watch for a re-download of 1.2.0
};

// Returns the process exit code: 0 when the whole story played.
int RunDemo(const DemoOptions& options);

void AddDemoCommand(CLI::App& app);

}  // namespace mqota::cli::demo
