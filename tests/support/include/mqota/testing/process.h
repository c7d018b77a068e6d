// Runs a program and captures what it says, for tests of command-line tools.
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace mqota::testing {

struct ProcessResult {
  int exit_code = -1;  // -1 when killed by a signal or the timeout
  std::string out;
  std::string err;
};

// Runs argv[0] (a path) with the arguments, stdin from /dev/null, and waits at
// most `timeout` (then kills it).
ProcessResult RunProcess(const std::vector<std::string>& argv,
                         std::chrono::milliseconds timeout = std::chrono::seconds(30));

// build/bin/<name>
std::string BinPath(const std::string& name);

}  // namespace mqota::testing
