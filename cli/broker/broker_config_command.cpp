#include "broker/broker_config_command.h"

#include <iostream>
#include <memory>

#include "broker/broker_config.h"
#include "mqota/host/command_error.h"

namespace mqota::cli {
namespace {

constexpr const char* kDescription =
    R"(Write a mosquitto configuration for mqota: OUT/mosquitto.conf and OUT/acl, and (TLS)
copies of ca.crt, broker.crt and broker.key from the certs DIR (made by mqota certs).
Run it with: mosquitto -c OUT/mosquitto.conf

TLS (default, port 8883, loopback unless --bind): a client certificate from the CA is
required and its CN is the username and the client id (no client can take over
another's); no anonymous clients; TLS 1.2 or newer. ACL:
  a device may publish only on its own <prefix>/<board>/device/<id>/request and the
  shared <prefix>/<board>/publish_notify, and read only <prefix>/<board>/OTAImage/<id>/#,
  <prefix>/<board>/device/<id>/notify and <prefix>/mqota-server/announce (<board> is +
  without --device ID:BOARD); the server client may read and write <prefix>/#; nobody
  may do anything else. Only a device can publish on its own request topic, so the
  server knows who sent what arrives there.
Devices: every --device, or else every client certificate in DIR/clients except the
server's.

--reference-devices: Infineon's anycloud-ota device waits for its answers on
<prefix>/<board>/OTAImage/<n> and its emulator (subscriber.py) on
<prefix>/<board>/subscriber/image<n>, under no device id: the ACL above drops them
silently and the device waits forever. This flag also lets every device read
<prefix>/<board>/OTAImage/+ and <prefix>/<board>/subscriber/+. It gives up the
confidentiality of answers between the devices of a board: any device of that board (of
every board, without ID:BOARD) can read the job documents, image chunks and results sent
to every reference device there. A device still publishes only on its request topic and
reads no other board's topics, and mqota agents' session topics
<prefix>/<board>/OTAImage/<id>/<nonce> stay private ('+' is exactly one level).
Refused with --plain, which lets every client read <prefix>/# anyway.

--plain (port 1883): no certificates, so no identities: any client can claim any id, and
the ACL only keeps clients inside <prefix>/#. It is protected only by listening on
loopback (other --bind addresses are refused): every local user can reach it.

mosquitto started as root switches to --user (default mosquitto) before it reads the key,
the ACL and the log file. Run as root, this command gives broker.key (0600) and the log file
to that user, and warns when a directory on the way to OUT is closed to it. --user root
keeps mosquitto as root (tests in private temporary directories do this).)";

}  // namespace

void AddBrokerConfigCommand(CLI::App& app) {
  struct Args {
    BrokerConfigOptions options;
    std::string certs, out, log;
    std::vector<std::string> devices;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("broker-config", "Write mosquitto.conf and its ACL for mqota");
  cmd->footer(kDescription);
  cmd->add_option("--certs", args->certs, "PKI directory made by mqota certs (TLS)");
  cmd->add_option("--out", args->out, "Directory to write the broker's files to")->required();
  cmd->add_option("--port", args->options.port, "Listener port (default 8883, plain 1883)");
  cmd->add_option("--bind", args->options.bind, "Listener address")->capture_default_str();
  cmd->add_flag("--plain", args->options.plain,
                "Plain TCP without certificates, loopback only (no identities: see above)");
  cmd->add_flag("--reference-devices", args->options.reference_devices,
                "Also let devices read the reference device's and emulator's topics (their "
                "board's answers are then readable by every device of the board: see above)");
  cmd->add_option("--topic-prefix", args->options.topic_prefix, "First level(s) of every topic")
      ->capture_default_str();
  cmd->add_option("--device", args->devices,
                  "ID or ID:BOARD of a device to admit; repeat for more (default: every client "
                  "certificate in the certs DIR)");
  cmd->add_option("--server-client", args->options.server_client, "CN of the server's certificate")
      ->capture_default_str();
  cmd->add_option("--observer", args->options.observers,
                  "CN of a client that may read every mqota topic and publish nothing (a "
                  "monitor); repeatable")
      ->allow_extra_args(false);
  cmd->add_option("--log", args->log, "Log file (default: mosquitto's stderr)");
  cmd->add_option("--window", args->options.window,
                  "Chunks mqota-server keeps in flight per device; sizes the broker's queues")
      ->capture_default_str();
  cmd->add_option("--user", args->options.user, "Account mosquitto runs as when started as root")
      ->capture_default_str();
  cmd->callback([args] {
    BrokerConfigOptions& o = args->options;
    o.certs = args->certs;
    o.out = args->out;
    o.log = args->log;
    if (!args->devices.empty()) {
      o.devices.emplace();
      for (const auto& spec : args->devices) o.devices->push_back(ParseBrokerDevice(spec));
    }
    const BrokerConfigFiles files = WriteBrokerConfig(o);
    for (const auto& warning : files.warnings) std::cerr << "mqota: warning: " << warning << "\n";
    std::cout << files.config.string() << ": " << (o.plain ? "plain TCP" : "TLS") << " on "
              << o.bind << " port " << files.port << "\n"
              << "run: mosquitto -c " << files.config.string() << "\n";
  });
}

}  // namespace mqota::cli
