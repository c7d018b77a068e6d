// mqota: the command line. Exit codes follow imgtool: 0 ok, 1 verification
// failed, 2 usage error.
#include <CLI/CLI.hpp>
#include <iostream>

#include "broker/broker_config_command.h"
#include "certs/certs_command.h"
#include "delta/delta_commands.h"
#include "demo/demo.h"
#include "fleet/fleet_command.h"
#include "image/image_commands.h"
#include "mqota/host/command_error.h"

namespace {

int Run(int argc, char** argv) {
  CLI::App app{"mqota: firmware updates over the air, over MQTT"};
  app.name("mqota");
  app.require_subcommand(1);
  app.set_version_flag("--version", "mqota 0.1.0");
  mqota::cli::AddImageCommands(app);
  mqota::cli::AddDeltaCommands(app);
  mqota::cli::AddCertsCommand(app);
  mqota::cli::AddBrokerConfigCommand(app);
  mqota::cli::demo::AddDemoCommand(app);
  mqota::cli::fleet::AddFleetCommand(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) return app.exit(e);
    std::cerr << "mqota: " << e.what() << " (see --help)\n";
    return mqota::host::kExitUsage;
  } catch (const mqota::host::CommandError& e) {
    std::cerr << "mqota: " << e.what() << "\n";
    return e.exit_code();
  } catch (const std::exception& e) {
    std::cerr << "mqota: internal error: " << e.what() << "\n";
    return mqota::host::kExitUsage;
  }
  return mqota::host::kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  return mqota::host::RunMain("mqota", Run, argc, argv, mqota::host::kExitUsage);
}
