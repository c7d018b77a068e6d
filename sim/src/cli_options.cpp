#include "cli_options.h"

#include <fstream>
#include <iterator>

#include "mqota/host/command_error.h"
#include "mqota/host/keys.h"
#include "mqota/host/signer.h"

namespace mqota::sim {
namespace {

image::ImageVersion Version(const std::string& text, const std::string& what) {
  const auto version = image::ParseVersion(text);
  if (!version) throw host::UsageError(what + ": '" + text + "' is not a version (like 1.2.0)");
  return *version;
}

// Pseudo-random bytes (xorshift32, seeded by the version): images of
// different versions differ everywhere, and nothing compresses.
std::vector<uint8_t> Payload(size_t size, const image::ImageVersion& v) {
  std::vector<uint8_t> bytes(size);
  uint32_t x = 0x12345678u ^ ((v.major * 65536u + v.minor * 256u + v.revision) * 0x9e3779b9u);
  if (x == 0) x = 1;
  for (auto& b : bytes) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    b = static_cast<uint8_t>(x);
  }
  return bytes;
}

std::vector<uint8_t> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw host::UsageError("--image " + path + ": cannot read it");
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

SwapKind Swap(const std::string& name) {
  if (name == "move") return SwapKind::kMove;
  if (name == "overwrite") return SwapKind::kOverwrite;
  return SwapKind::kScratch;
}

}  // namespace

void AddOptions(CLI::App& app, SimCommandLine& o) {
  const auto share = CLI::Range(0.0, 1.0);
  app.add_option("--devices", o.devices, "Devices to simulate")->capture_default_str();
  app.add_option("--id-prefix", o.id_prefix, "Device ids: <prefix>0000, <prefix>0001, ...")
      ->capture_default_str();
  app.add_option("--board", o.board, "Board name of every device")->capture_default_str();
  auto* version = app.add_option("--version", o.version,
                                 "Version the devices run at the start (their primary slot "
                                 "holds an image of it, signed with --sign-key)")
                      ->capture_default_str();
  auto* size = app.add_option("--image-size", o.image_size, "Payload bytes of that initial image")
                   ->capture_default_str();
  app.add_option("--image", o.image_file,
                 "A signed image for the primary slots instead (its version runs)")
      ->check(CLI::ExistingFile)
      ->excludes(version)
      ->excludes(size);
  app.add_option("--sign-key", o.sign_key, "Key (PEM) to sign the initial image with")
      ->check(CLI::ExistingFile);
  app.add_option("--trust-key", o.trust_keys,
                 "Key (PEM) images must be signed with, for the bootloader and the agent "
                 "(repeatable; default: --sign-key)")
      ->check(CLI::ExistingFile);
  app.add_option("--max-image-size", o.max_image_size,
                 "Largest image the slots must take (default: 1.25 x the initial image)");
  app.add_option("--swap", o.swap, "The bootloader's upgrade algorithm")
      ->check(CLI::IsMember({"scratch", "move", "overwrite"}))
      ->capture_default_str();
  app.add_option("--broker", o.broker,
                 "Broker address, host[:port] (port 1883, or 8883 with --tls); an IPv4 address")
      ->capture_default_str();
  app.add_flag("--tls", o.tls, "Connect with TLS, each device with its own client certificate");
  app.add_option("--certs", o.certs_dir,
                 "With --tls: the PKI directory of mqota certs (ca.crt, clients/<id>.crt/.key)")
      ->check(CLI::ExistingDirectory);
  app.add_option("--prefix", o.prefix, "Topic prefix")->capture_default_str();
  app.add_option("--threads", o.threads, "Worker threads (default: the core count)");
  app.add_option("--ramp", o.ramp_s, "Seconds over which the devices power on")
      ->check(CLI::Range(0.0, 3600.0));
  app.add_option("--duration", o.duration_s,
                 "Seconds to run (with --until-version: the most to wait for it)")
      ->check(CLI::Range(0.0, 86400.0));
  app.add_option("--until-version", o.until_version,
                 "Stop once every device runs this version confirmed, or failed with it");
  app.add_option("--check-interval", o.check_interval_s, "Seconds between a device's checks")
      ->check(CLI::Range(0.1, 86400.0))
      ->capture_default_str();
  app.add_option("--watchdog", o.watchdog_s, "Seconds before a hung image is reset")
      ->check(CLI::Range(0.1, 3600.0))
      ->capture_default_str();
  app.add_option("--seed", o.seed, "Seed of every fault draw")->capture_default_str();
  app.add_option("--drop-share", o.drop_share,
                 "Share of devices whose connection drops mid-download")
      ->check(share);
  app.add_option("--power-cut-share", o.power_cut_share,
                 "Share of devices whose power fails mid-download")
      ->check(share);
  app.add_option("--swap-cut-share", o.swap_cut_share,
                 "Share of devices whose power fails during the bootloader's swap")
      ->check(share);
  app.add_option("--hang-version", o.hang_versions,
                 "Images of this version hang: the watchdog resets, the bootloader reverts "
                 "(repeatable)");
  app.add_option("--flash-op-us", o.flash_op_us,
                 "Microseconds each flash write and sector erase takes (slow flash)");
  app.add_option("--slow-flash-share", o.slow_flash_share, "Share of devices with slow flash")
      ->check(share)
      ->capture_default_str();
  app.add_option("--latency-ms", o.latency_ms,
                 "Milliseconds each direction of a connection is delayed (through a proxy)");
  app.add_option("--latency-share", o.latency_share, "Share of devices behind the latency")
      ->check(share)
      ->capture_default_str();
  app.add_option("--progress-step", o.progress_step, "A \"downloading\" event every this many %")
      ->check(CLI::Range(1, 100))
      ->capture_default_str();
  app.add_option("--events", o.events_file, "Write the events here (default: stdout)");
}

std::optional<image::ImageVersion> UntilVersion(const SimCommandLine& o) {
  if (o.until_version.empty()) return std::nullopt;
  return Version(o.until_version, "--until-version");
}

FleetOptions MakeFleetOptions(const SimCommandLine& o) {
  if (o.duration_s <= 0 && o.until_version.empty()) {
    throw host::UsageError("say how long to run: --duration S, or --until-version V");
  }
  if (o.tls && o.certs_dir.empty()) throw host::UsageError("--tls needs --certs DIR");
  if (o.image_file.empty() && o.sign_key.empty()) {
    throw host::UsageError("the initial image needs --sign-key (or give --image)");
  }
  if (o.trust_keys.empty() && o.sign_key.empty()) {
    throw host::UsageError("the devices need a key to trust: --trust-key (or --sign-key)");
  }
  FleetOptions f;
  f.devices = o.devices;
  f.id_prefix = o.id_prefix;
  f.board = o.board;
  f.prefix = o.prefix;
  f.swap = Swap(o.swap);
  f.tls = o.tls;
  f.certs_dir = o.certs_dir;
  f.threads = o.threads;
  f.ramp = std::chrono::milliseconds(static_cast<int64_t>(o.ramp_s * 1000));
  f.check_interval_ms = static_cast<uint32_t>(o.check_interval_s * 1000);
  f.watchdog_ms = static_cast<uint32_t>(o.watchdog_s * 1000);
  f.progress_step_percent = o.progress_step;

  const size_t colon = o.broker.rfind(':');
  f.broker_host = colon == std::string::npos ? o.broker : o.broker.substr(0, colon);
  f.broker_port = o.tls ? 8883 : 1883;
  if (colon != std::string::npos) {
    try {
      f.broker_port = std::stoi(o.broker.substr(colon + 1));
    } catch (const std::exception&) {
      f.broker_port = 0;
    }
    if (f.broker_port < 1 || f.broker_port > 65535) {
      throw host::UsageError("--broker " + o.broker + ": the port must be 1..65535");
    }
  }

  for (const std::string& path : o.trust_keys.empty() ? std::vector{o.sign_key} : o.trust_keys) {
    const host::Key key = host::Key::Load(path);
    f.trusted_keys_der.push_back(key.PublicKeyDer());
    f.trusted_key_types.push_back(host::SignatureTypeOf(key.type()));
  }
  if (!o.image_file.empty()) {
    f.initial_image = ReadFile(o.image_file);
  } else {
    const host::Key key = host::Key::Load(o.sign_key);
    if (!key.has_private()) throw host::UsageError("--sign-key " + o.sign_key + ": no private key");
    host::SignOptions sign;
    sign.header_size = 0x400;
    sign.pad_header = true;
    sign.version = Version(o.version, "--version");
    sign.align = 8;
    sign.slot_size = o.image_size + 0x10000;
    f.initial_image = host::BuildSignedImage(Payload(o.image_size, sign.version), sign, &key);
  }
  f.max_image_bytes = o.max_image_size;

  FaultOptions& faults = f.faults;
  faults.seed = o.seed;
  faults.drop_share = o.drop_share;
  faults.power_cut_share = o.power_cut_share;
  faults.swap_cut_share = o.swap_cut_share;
  faults.flash_op_us = o.flash_op_us;
  faults.slow_flash_share = o.slow_flash_share;
  faults.latency_ms = o.latency_ms;
  faults.latency_share = o.latency_share;
  for (const std::string& v : o.hang_versions) {
    faults.hang_versions.push_back(Version(v, "--hang-version"));
  }
  return f;
}

}  // namespace mqota::sim
