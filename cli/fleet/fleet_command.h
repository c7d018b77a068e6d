// `mqota fleet`: the operator's command on mqota-server's API.
#pragma once

#include <CLI/CLI.hpp>

namespace mqota::cli::fleet {

void AddFleetCommand(CLI::App& app);

}  // namespace mqota::cli::fleet
