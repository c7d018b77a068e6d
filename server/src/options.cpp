#include "options.h"

#include <unistd.h>

#include <array>
#include <cstdlib>
#include <string_view>

#include "mqota/fleet/postgres_registry.h"
#include "mqota/host/command_error.h"
#include "mqota/host/keys.h"
#include "mqota/server/topics.h"

namespace mqota::server {

void AddOptions(CLI::App& app, ServerOptions& o) {
  // Every option below can come from the file: `name = value` lines with the
  // long names (packaging/server.conf lists them all). A name the server does
  // not know is an error, not silently ignored: a typo in a service's
  // configuration must stop its start, not change what it serves.
  app.set_config("--config", "",
                 "Read options from this file: one `name = value` per line with the long option "
                 "names, e.g. `catalog = \"/var/lib/mqota/catalog\"`, `tls = true`, `verify-key "
                 "= [\"a.pem\", \"b.pem\"]`, `images = [...]`; `#` starts a comment. Every "
                 "option can be set in it; the command line wins. The packaged example: "
                 "/etc/mqota/server.conf")
      ->type_name("FILE");
  app.allow_config_extras(CLI::config_extras_mode::error);
  app.add_option("images", o.image_files,
                 "Signed MCUboot image files to serve (their board: --board, or a "
                 "<image>.board file beside each)")
      ->check(CLI::ExistingFile);
  app.add_option("--catalog", o.catalog_dirs,
                 "Directory of images to serve: every *.bin and *.img in it (repeatable)")
      ->allow_extra_args(false)  // one value per --catalog, so image files can follow
      ->check(CLI::ExistingDirectory);
  app.add_option("--board", o.board,
                 "Board of images without a <image>.board file (the name in the topics, "
                 "e.g. CY8CPROTO_062_4343W)");
  app.add_option("--verify-key", o.verify_keys,
                 "Refuse images not signed by this key (PEM, public or private; repeatable). "
                 "Without it only each image's SHA-256 is checked")
      ->allow_extra_args(false)
      ->check(CLI::ExistingFile);
  app.add_option("--host", o.host, "Broker address")->capture_default_str();
  app.add_option("--port", o.port, "Broker port (default 1883, or 8883 with --tls)")
      ->check(CLI::Range(1, 65535));
  app.add_flag("--tls", o.tls, "Connect with TLS, verifying the broker against --ca");
  app.add_option("--ca", o.ca_file, "CA certificate (PEM) the broker's certificate must chain to")
      ->check(CLI::ExistingFile);
  app.add_option("--cert", o.cert_file, "Client certificate (PEM) for mutual TLS")
      ->check(CLI::ExistingFile);
  app.add_option("--key", o.key_file, "Private key (PEM) of --cert")->check(CLI::ExistingFile);
  app.add_option("--tls-version", o.tls_version, "Pin the TLS version")
      ->check(CLI::IsMember({"tlsv1.2", "tlsv1.3"}));
  app.add_option("--client-id", o.client_id,
                 "MQTT client id, unique per instance (default mqota-server-<pid>, or "
                 "mqota-server-<host>-<pid> with --share-group)");
  app.add_option("--share-group", o.share_group,
                 "Run as one of several instances on one broker and one PostgreSQL --db: "
                 "device requests arrive through the shared subscription $share/NAME/..., so "
                 "each is handled by one instance, and the announcement stays while any "
                 "instance runs (docs/scale-out.md). Every instance of a prefix uses the same "
                 "NAME");
  app.add_option("--prefix", o.prefix,
                 "Topic prefix: requests arrive on <prefix>/<board>/publish_notify")
      ->capture_default_str();
  app.add_option("--job-port", o.job_port,
                 "\"Port\" written into job documents: where devices reach the broker "
                 "(default: --port)")
      ->check(CLI::Range(1, 65535));
  app.add_option("--workers", o.workers, "Worker threads serving requests and streams")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  app.add_option("--window", o.window,
                 "Chunks a device's stream may have unconfirmed by the broker")
      ->capture_default_str()
      ->check(CLI::Range(2, 256));
  app.add_option("--max-streams", o.max_streams, "Devices streamed at once; more wait their turn")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  app.add_option("--queue", o.queue,
                 "Requests waiting for a worker; beyond that they are dropped (and logged)")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000000));
  app.add_option("--log-level", o.log_level, "Log to stderr from this level up")
      ->capture_default_str()
      ->check(CLI::IsMember({"error", "warn", "info", "debug"}));
  app.add_option("--connect-timeout", o.connect_timeout_s,
                 "Seconds to reach the broker at start-up before giving up")
      ->capture_default_str()
      ->check(CLI::Range(0.1, 600.0));
  app.add_option("--offer-quiet", o.offer_quiet_s,
                 "Seconds after a job document by which the device must ask again on its topic; "
                 "past it, one warning (the answer may not have reached it). 0: never warn")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 3600.0));
  app.add_option("--db", o.db,
                 "The fleet registry: a SQLite file (created when missing; one server per "
                 "file), or a PostgreSQL database as postgresql://USER@HOST:PORT/DB (it must "
                 "exist; several servers may share it; a password from ~/.pgpass or "
                 "PGPASSWORD rather than the URL)")
      ->capture_default_str();
  app.add_flag("--offer-newest", o.offer_newest,
               "Offer every device the newest image of its board it has not refused, as the "
               "reference publisher does (reference devices need it: their topics name no "
               "device). Without it only running campaigns offer anything");
  app.add_option("--api", o.api,
                 "Address of the HTTP listener: the fleet API (/api/v1/), Prometheus metrics "
                 "(/metrics) and the dashboard (/ui/) (HOST:PORT, loopback unless told; "
                 "\"off\" for none)")
      ->capture_default_str();
  app.add_option("--api-token-file", o.api_token_file,
                 "File holding the operator's bearer token (everything: API, metrics, "
                 "dashboard with its buttons); created with a fresh token when missing "
                 "(default: <db>.token, or mqota-server.token when --db is a URL)");
  app.add_option("--viewer-token-file", o.viewer_token_file,
                 "File holding the viewer's bearer token (read only: GET on the API, metrics, "
                 "dashboard without buttons); created when missing (default: "
                 "<db>.viewer-token, or mqota-server.viewer-token when --db is a URL)");
  app.add_flag("--no-patches", o.no_patches,
               "Never offer delta patches: every device downloads whole images");
  app.add_option("--patch-max-percent", o.patch_max_percent,
                 "Offer a patch only when it is at most this share of its image")
      ->capture_default_str()
      ->check(CLI::Range(1, 100));
  app.add_option("--patch-block-kib", o.patch_block_kib,
                 "Image bytes per patch block, in KiB: a multiple of the devices' flash sector "
                 "(a power cut costs at most one block)")
      ->capture_default_str()
      ->check(CLI::Range(1, 1024));
  app.add_option("--patch-cache", o.patch_cache,
                 "Directory the patches between catalog images are kept in, so a restart does "
                 "not make them again (default: <db>.patches, or mqota-server.patches when --db "
                 "is a URL)");
  app.add_option("--shutdown-grace", o.shutdown_grace_s,
                 "On SIGINT/SIGTERM, seconds running streams get to finish")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 600.0));
}

std::string DescribeParseError(const CLI::App& app, const CLI::ParseError& e) {
  std::string what = e.what();
  const CLI::Option* config = app.get_config_ptr();
  if (dynamic_cast<const CLI::ConfigError*>(&e) == nullptr || config == nullptr ||
      config->count() == 0) {
    return what;
  }
  // CLI11 says "INI was not able to parse NAME" of a name no option has.
  const std::string file = config->as<std::string>();
  const std::string extras = "INI was not able to parse ";
  if (what.rfind(extras, 0) == 0) {
    return file + ": '" + what.substr(extras.size()) + "' is not an option of mqota-server";
  }
  return file + ": " + what;
}

namespace {

// Instances of a group may run on several machines, where pids repeat: the
// host name goes in too (a client id that is already connected makes the
// broker drop the older connection).
std::string DefaultClientId(bool grouped) {
  std::string id = "mqota-server-";
  if (grouped) {
    std::array<char, 256> host{};
    if (gethostname(host.data(), host.size() - 1) == 0) {
      for (const char c : std::string_view(host.data())) {
        const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                           (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
        id += plain ? c : '_';
      }
      id += '-';
    }
  }
  return id + std::to_string(getpid());
}

}  // namespace

void CheckOptions(ServerOptions& o) {
  if (o.catalog_dirs.empty() && o.image_files.empty()) {
    throw host::UsageError("nothing to serve: give --catalog DIR or image files");
  }
  if (!o.board.empty() && !ValidBoardName(o.board)) {
    throw host::UsageError("--board '" + o.board + "' is not a valid board name");
  }
  if (!ValidPrefix(o.prefix)) {
    throw host::UsageError("--prefix '" + o.prefix +
                           "' is not a valid topic prefix (no wildcards, no leading or "
                           "trailing '/')");
  }
  if (!o.tls && (!o.ca_file.empty() || !o.cert_file.empty() || !o.key_file.empty() ||
                 !o.tls_version.empty())) {
    throw host::UsageError("--ca, --cert, --key and --tls-version need --tls");
  }
  if (o.tls && o.ca_file.empty()) throw host::UsageError("--tls needs --ca");
  if (o.cert_file.empty() != o.key_file.empty()) {
    throw host::UsageError("--cert and --key go together");
  }
  if (o.port == 0) o.port = o.tls ? 8883 : 1883;
  if (o.job_port == 0) o.job_port = o.port;
  if (!o.share_group.empty() && !ValidBoardName(o.share_group)) {
    throw host::UsageError("--share-group '" + o.share_group +
                           "' must be printable, without spaces, '/', '+' or '#'");
  }
  if (!o.share_group.empty() && !fleet::IsPostgresUrl(o.db)) {
    throw host::UsageError(
        "--share-group needs a registry the instances share: --db postgresql://... (a SQLite "
        "file has one server)");
  }
  if (o.client_id.empty()) o.client_id = DefaultClientId(!o.share_group.empty());
  if (o.db.empty()) throw host::UsageError("--db needs a file name or a postgresql:// URL");
  // The server's files go beside a SQLite file; a URL is no place for a
  // file (and may hold a password): the working directory.
  const std::string file_base = fleet::IsPostgresUrl(o.db) ? "mqota-server" : o.db;
  if (o.api_token_file.empty()) o.api_token_file = file_base + ".token";
  if (o.viewer_token_file.empty()) o.viewer_token_file = file_base + ".viewer-token";
  if (o.patch_cache.empty()) o.patch_cache = file_base + ".patches";
  if (o.api != "off") {
    const size_t colon = o.api.rfind(':');
    const std::string port = colon == std::string::npos ? "" : o.api.substr(colon + 1);
    o.api_host = colon == std::string::npos ? "" : o.api.substr(0, colon);
    if (o.api_host.size() > 2 && o.api_host.front() == '[' && o.api_host.back() == ']') {
      o.api_host = o.api_host.substr(1, o.api_host.size() - 2);  // [::1]
    }
    char* end = nullptr;
    const long n = port.empty() ? -1 : std::strtol(port.c_str(), &end, 10);
    if (o.api_host.empty() || n < 0 || n > 65535 || (end && *end != '\0')) {
      throw host::UsageError("--api '" + o.api + "' is not HOST:PORT (or \"off\")");
    }
    o.api_port = static_cast<int>(n);
  }
  if (!ValidBoardName(o.client_id)) {  // it becomes a topic level
    throw host::UsageError("--client-id '" + o.client_id +
                           "' must be printable, without spaces, '/', '+' or '#'");
  }
}

CatalogOptions MakeCatalogOptions(const ServerOptions& o) {
  CatalogOptions options;
  options.default_board = o.board;
  for (const auto& path : o.verify_keys) {
    const host::Key key = host::Key::Load(path);
    options.trusted_keys.push_back({host::SignatureTypeOf(key.type()), key.PublicKeyDer()});
  }
  options.patches.enabled = !o.no_patches;
  options.patches.max_percent = static_cast<uint32_t>(o.patch_max_percent);
  options.patches.block_bytes = static_cast<uint32_t>(o.patch_block_kib) * 1024;
  options.patches.cache_dir = o.patch_cache;
  return options;
}

ServerConfig MakeServerConfig(const ServerOptions& o) {
  ServerConfig config;
  config.mqtt.host = o.host;
  config.mqtt.port = o.port;
  config.mqtt.client_id = o.client_id;
  config.mqtt.tls_enabled = o.tls;
  config.mqtt.tls = {o.ca_file, o.cert_file, o.key_file, o.tls_version};
  // libmosquitto's own cap on unacknowledged QoS 1 messages: room for every
  // active stream's window, so the per-stream windows are what limits.
  config.mqtt.max_inflight_messages = std::min(65535, o.window * o.max_streams + 16);
  // What the broker has not taken yet, at most: a worker that would go past
  // it waits, so a slow broker backs requests up in the request queue (a few
  // hundred bytes each, bounded by --queue) instead of answers in memory
  // (4 KiB each, unbounded). 8 MiB keeps loopback's pipe full.
  config.mqtt.max_unacked_bytes = size_t{8} << 20;
  config.handler.prefix = o.prefix;
  config.share_group = o.share_group;
  config.handler.job_port = static_cast<uint16_t>(o.job_port);
  config.streams.window = static_cast<uint32_t>(o.window);
  config.streams.max_active = static_cast<size_t>(o.max_streams);
  config.workers = o.workers;
  config.queue_capacity = static_cast<size_t>(o.queue);
  config.offer_newest = o.offer_newest;
  config.offer_quiet = std::chrono::milliseconds(static_cast<int64_t>(o.offer_quiet_s * 1000));
  return config;
}

}  // namespace mqota::server
