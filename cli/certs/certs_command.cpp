#include "certs/certs_command.h"

#include <iostream>
#include <memory>

#include "certs/c_strings.h"
#include "certs/pki.h"
#include "mqota/host/command_error.h"

namespace mqota::cli {
namespace {

constexpr const char* kDescription =
    R"(Make the TLS certificates of a broker and its fleet, or print PEM files as C strings.

mqota certs --out DIR [--device ID]... makes, in DIR:
  ca.crt, ca.key            a CA (EC P-256, ~10 years); ca.key only issues certificates:
                            the broker and the devices never need it
  broker.crt, broker.key    the broker, for every --broker-name (IP SANs for addresses,
                            DNS SANs for names), serverAuth
  clients/<id>.crt, .key    one per --device (CN = id = the device's MQTT username) and one
                            for the server client (CN mqota-server), clientAuth
Keys are unencrypted PKCS#8 PEM, mode 0600. Leaf certificates last --days (825).

Existing files are never replaced without --force. With a CA in DIR, running the command
again issues only the missing client certificates, by that CA: that is how a fleet grows.
--force starts over: a new CA and new certificates for everything named.

mqota certs --c-strings FILE... prints each .crt, .pem or .key file as C string literals
for a device's configuration header (as the reference's format_cert_key.py).)";

void Report(const PkiLayout& layout, const CertsOutcome& outcome) {
  if (outcome.ca_created) std::cout << layout.ca_cert().string() << ": new CA\n";
  if (outcome.broker_issued) std::cout << layout.broker_cert().string() << ": issued\n";
  for (const auto& id : outcome.clients_issued) {
    std::cout << layout.client_cert(id).string() << ": issued\n";
  }
  for (const auto& id : outcome.clients_kept) {
    std::cout << layout.client_cert(id).string() << ": kept (issued by this CA before)\n";
  }
  for (const auto& id : outcome.clients_orphaned) {
    std::cerr << "mqota: warning: " << layout.client_cert(id).string()
              << " was issued by the replaced CA; it no longer works (issue it again with "
                 "--device "
              << id << ", or remove it)\n";
  }
}

}  // namespace

void AddCertsCommand(CLI::App& app) {
  struct Args {
    std::string out;
    CertsOptions options;
    std::vector<std::string> broker_names, c_strings;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("certs", "Make the broker's and the fleet's TLS certificates");
  cmd->footer(kDescription);
  // Everything but --c-strings makes certificates, and is refused beside it.
  std::vector<CLI::Option*> pki;
  pki.push_back(cmd->add_option("--out", args->out, "Directory of the PKI (created if missing)"));
  pki.push_back(cmd->add_option(
      "--device", args->options.devices,
      "A device's client certificate (CN = ID: 1..64 printable ASCII characters, no "
      "space, ':', '/', '+' or '#'); repeat for more devices"));
  pki.push_back(cmd->add_option("--server-client", args->options.server_client,
                                "CN of the server's client certificate")
                    ->capture_default_str());
  pki.push_back(cmd->add_option("--broker-name", args->broker_names,
                                "An IP address or DNS name clients connect to the broker by; "
                                "repeat for more (default: 127.0.0.1, ::1, localhost)"));
  pki.push_back(cmd->add_option("--days", args->options.leaf_days,
                                "Validity of the broker and client certificates, in days")
                    ->capture_default_str());
  pki.push_back(cmd->add_option("--ca-days", args->options.ca_days, "Validity of a new CA, in days")
                    ->capture_default_str());
  pki.push_back(
      cmd->add_flag("--force", args->options.force,
                    "Start over: a new CA and new certificates, replacing existing files"));
  auto* c_strings = cmd->add_option("--c-strings", args->c_strings,
                                    "Print these .crt/.pem/.key files as C string literals");
  for (CLI::Option* option : pki) c_strings->excludes(option);
  cmd->callback([args] {
    if (!args->c_strings.empty()) {
      std::cout << FormatCStrings(args->c_strings) << std::flush;
      return;
    }
    if (args->out.empty()) {
      throw host::UsageError("certs: --out DIR (or --c-strings FILE...) is required");
    }
    if (!args->broker_names.empty()) args->options.broker_names = args->broker_names;
    args->options.out = args->out;
    Report(PkiLayout(args->out), MakeCertificates(args->options));
  });
}

}  // namespace mqota::cli
