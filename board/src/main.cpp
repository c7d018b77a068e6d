// mqota-board: the virtual kit on a Linux host.
//
//   mqota-board create --dir D --boot-key KEY --device-id ID --broker HOST:PORT
//                      [--ca CA --cert CERT --key KEY | --plain] [--swap
//                      scratch|move|overwrite|offset]
//   mqota-board flash --dir D IMAGE       program the primary slot, as a debugger would
//   mqota-board run --dir D [--watchdog-ms N] [--events FILE] [--power-off-after-ms N]
#include <CLI/CLI.hpp>
#include <fstream>
#include <iostream>
#include <iterator>

#include "mqota/board/board_config.h"
#include "mqota/board/layout.h"
#include "mqota/board/supervisor.h"
#include "mqota/flash/flash_area.h"
#include "mqota/host/command_error.h"
#include "mqota/ports/posix/file_flash.h"

namespace {

using namespace mqota;
using namespace mqota::board;

constexpr int kExitUsage = 2;

void Flash(const std::filesystem::path& dir, const std::string& image_path) {
  std::ifstream in(image_path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + image_path);
  std::vector<uint8_t> image((std::istreambuf_iterator<char>(in)), {});
  const uint32_t usable = kSlotBytes - kTrailer.trailer_bytes();
  if (image.empty() || image.size() > usable) {
    throw std::runtime_error(image_path + " is " + std::to_string(image.size()) +
                             " bytes; the primary slot holds 1 to " + std::to_string(usable));
  }
  image.resize((image.size() + kWriteBytes - 1) / kWriteBytes * kWriteBytes, kErasedValue);
  const BoardPaths paths(dir);
  auto chip = posix::FileFlash::Open(paths.internal_flash().c_str(), InternalFlashGeometry(),
                                     posix::FileFlashMode::kOpenExisting);
  if (!chip.ok()) {
    throw std::runtime_error(paths.internal_flash().string() + ": " +
                             posix::ToString(chip.error()));
  }
  const flash::FlashArea primary(*chip, kPrimaryOffset, kSlotBytes);
  if (!primary.Erase(0, kSlotBytes).ok() || !primary.Write(0, image).ok()) {
    throw std::runtime_error("programming the primary slot failed");
  }
  std::cout << "programmed " << image.size() << " bytes into the primary slot of " << dir.string()
            << "\n";
}

}  // namespace

namespace {

int Run(int argc, char** argv) {
  CLI::App app{
      "mqota-board: a virtual PSoC 6 kit (two flash chips as files, a watchdog, an "
      "LED, a UART) that boots signed images with mqota's bootloader core"};
  app.require_subcommand(1);

  CreateRequest create;
  std::string broker, swap = "scratch";
  bool plain = false, force = false;
  auto* create_cmd = app.add_subcommand("create",
                                        "Make a new board: erased flash, a bootloader "
                                        "that trusts --boot-key, a provisioned identity");
  create_cmd->add_option("--dir", create.dir, "Board directory")->required();
  create_cmd->add_option("--boot-key", create.boot_key, "Signing key the bootloader trusts (PEM)")
      ->required()
      ->check(CLI::ExistingFile);
  create_cmd
      ->add_option("--device-id", create.provisioning.device_id,
                   "Device id (its client certificate's CN)")
      ->required();
  create_cmd->add_option("--serial", create.provisioning.serial_number, "Serial number");
  create.provisioning.board = kBoardName;
  create_cmd
      ->add_option("--board-name", create.provisioning.board,
                   "The board name its firmware reports and accepts jobs for (a job document's "
                   "\"Board\"); e.g. CY8CPROTO_062_4343W to take the reference kit's jobs")
      ->capture_default_str();
  create_cmd->add_option("--broker", broker, "Broker HOST:PORT")->required();
  create_cmd->add_option("--ca", create.provisioning.ca_file, "CA certificate (PEM)")
      ->check(CLI::ExistingFile);
  create_cmd->add_option("--cert", create.provisioning.cert_file, "Client certificate (PEM)")
      ->check(CLI::ExistingFile);
  create_cmd->add_option("--key", create.provisioning.key_file, "Client private key (PEM)")
      ->check(CLI::ExistingFile);
  create_cmd->add_flag("--plain", plain, "Plain TCP to the broker (no certificates)");
  create_cmd->add_option("--topic-prefix", create.provisioning.topic_prefix, "Topic prefix")
      ->capture_default_str();
  create_cmd
      ->add_option("--check-interval-ms", create.provisioning.check_interval_ms,
                   "How often the device asks for an update")
      ->capture_default_str();
  create_cmd->add_option("--swap", swap, "Upgrade algorithm of the bootloader")
      ->check(CLI::IsMember({"scratch", "move", "overwrite", "offset"}))
      ->capture_default_str();
  create_cmd->add_flag("--allow-downgrade", create.bootloader.allow_downgrade,
                       "Let the bootloader install older versions");
  create_cmd->add_flag("--force", force, "Replace an existing board (its flash is erased)");

  std::filesystem::path flash_dir;
  std::string image;
  auto* flash_cmd = app.add_subcommand(
      "flash", "Program a signed image into the primary slot (a debugger's job)");
  flash_cmd->add_option("--dir", flash_dir, "Board directory")->required();
  flash_cmd->add_option("image", image, "Signed image")->required()->check(CLI::ExistingFile);

  RunOptions run;
  int64_t watchdog_ms = 4000, power_off_ms = 0;
  auto* run_cmd = app.add_subcommand(
      "run",
      "Power on: boot, run the application, reset on the "
      "watchdog; SIGTERM powers off, SIGKILL of its process group is a power cut");
  run_cmd->add_option("--dir", run.dir, "Board directory")->required();
  run_cmd->add_option("--watchdog-ms", watchdog_ms, "Watchdog timeout")
      ->capture_default_str()
      ->check(CLI::Range(100, 600000));
  run_cmd->add_option("--events", run.events_path, "Append every event as a JSON line to FILE");
  run_cmd->add_option("--power-off-after-ms", power_off_ms, "Power off after this long");
  run_cmd->add_flag("--quiet", run.quiet, "No human-readable lines on stdout");
  int64_t flash_op_us = 0;
  run_cmd
      ->add_option("--flash-op-us", flash_op_us,
                   "Make each flash write, and each sector erased, of the bootloader take this "
                   "long, as on a "
                   "microcontroller (so a power cut can land inside a swap)")
      ->check(CLI::Range(0, 100000));

  try {
    app.parse(argc, argv);
    if (*create_cmd) {
      const auto colon = broker.rfind(':');
      if (colon == std::string::npos) throw CLI::ValidationError("--broker", "expected HOST:PORT");
      create.provisioning.broker_host = broker.substr(0, colon);
      const int port = std::atoi(broker.c_str() + colon + 1);
      if (port <= 0 || port > 65535) throw CLI::ValidationError("--broker", "bad port");
      create.provisioning.broker_port = static_cast<uint16_t>(port);
      create.provisioning.tls = !plain;
      if (!plain && (create.provisioning.ca_file.empty() || create.provisioning.cert_file.empty() ||
                     create.provisioning.key_file.empty())) {
        throw CLI::ValidationError("--ca/--cert/--key", "TLS needs all three (or --plain)");
      }
      if (create.provisioning.serial_number.empty())
        create.provisioning.serial_number = create.provisioning.device_id;
      create.bootloader.swap = swap == "move"        ? SwapKind::kMove
                               : swap == "overwrite" ? SwapKind::kOverwrite
                               : swap == "offset"    ? SwapKind::kOffset
                                                     : SwapKind::kScratch;
      CreateBoard(create, force);
      std::cout << "created board " << create.dir.string() << " (device "
                << create.provisioning.device_id << ", broker " << broker
                << (plain ? ", plain TCP" : ", TLS") << ")\n";
      return 0;
    }
    if (*flash_cmd) {
      Flash(flash_dir, image);
      return 0;
    }
    run.watchdog = std::chrono::milliseconds(watchdog_ms);
    run.power_off_after = std::chrono::milliseconds(power_off_ms);
    run.flash_op = std::chrono::microseconds(flash_op_us);
    return RunBoard(run);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);
    std::cerr << "mqota-board: " << e.what() << " (see --help)\n";
    return kExitUsage;
  } catch (const std::exception& e) {
    std::cerr << "mqota-board: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace

int main(int argc, char** argv) {
  return mqota::host::RunMain("mqota-board", Run, argc, argv, kExitUsage);
}
