// `mqota broker-config`: mosquitto.conf and the ACL file (broker_config.h).
#pragma once

#include <CLI/CLI.hpp>

namespace mqota::cli {

void AddBrokerConfigCommand(CLI::App& app);

}  // namespace mqota::cli
