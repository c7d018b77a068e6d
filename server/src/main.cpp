// mqota-server: serves signed images to devices over MQTT, compatible with
// the reference anycloud-ota publisher
// (docs/spec/reference-protocol.md#compatibility-checklist).
// Exit codes: 0 after SIGINT/SIGTERM, 1 when the catalog or the broker is
// unusable, 2 for bad arguments.
#include <pthread.h>
#include <signal.h>

#include <CLI/CLI.hpp>
#include <cstring>
#include <fstream>
#include <iostream>

#include "mqota/fleet/open_registry.h"
#include "mqota/host/command_error.h"
#include "mqota/host/files.h"
#include "mqota/server/api.h"
#include "mqota/server/http_api_server.h"
#include "mqota/server/topics.h"
#include "options.h"

namespace {

using namespace mqota;
using namespace mqota::server;

std::chrono::milliseconds Millis(double seconds) {
  return std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
}

std::string Describe(const CatalogEntry& e) {
  return "catalog: " + e.board + " " + e.ProtocolVersion() + " from " + e.path + " (" +
         std::to_string(e.size_bytes()) + " bytes, sha256 " + e.Sha256Hex().substr(0, 16) + "...)";
}

void LogCatalog(const Catalog& catalog, Logger& log) {
  for (const auto& entry : catalog.entries()) log.Info(Describe(*entry));
  for (const auto& p : catalog.patches()) {
    log.Info("catalog: patch " + p->target->board + " " + p->source->ProtocolVersion() + " -> " +
             p->target->ProtocolVersion() + ": " + std::to_string(p->size_bytes()) + " bytes (" +
             std::to_string(uint64_t{p->size_bytes()} * 100 / p->target->size_bytes()) +
             "% of the image)");
  }
}

// The API's token: the file's first line, or a fresh token written to a new
// file only its owner can read.
std::string ApiToken(const std::string& path, Logger& log) {
  std::ifstream in(path);
  std::string token;
  if (in && std::getline(in, token) && !token.empty()) return token;
  if (std::filesystem::exists(path)) throw ServerError(path + ": holds no API token");
  token = NewApiToken();
  host::WriteFileAtomically(path, token + "\n", 0600);
  log.Info("api: wrote a new token to " + path);
  return token;
}

int Serve(ServerOptions& options, const sigset_t& stop_signals) {
  CheckOptions(options);
  Logger log(*ParseLogLevel(options.log_level));
  std::vector<std::filesystem::path> paths(options.catalog_dirs.begin(),
                                           options.catalog_dirs.end());
  paths.insert(paths.end(), options.image_files.begin(), options.image_files.end());
  auto catalog = std::make_shared<const Catalog>(Catalog::Load(paths, MakeCatalogOptions(options)));
  LogCatalog(*catalog, log);

  // A file: SQLite, locked for this server; a postgresql:// URL: a database
  // several servers may share.
  std::unique_ptr<fleet::Registry> registry;
  try {
    fleet::OpenedRegistry opened = fleet::OpenRegistry(options.db);
    registry = std::move(opened.registry);
    log.Info("registry: " + opened.description);
  } catch (const fleet::RegistryError& e) {
    throw ServerError(e.what());
  }

  Server server(MakeServerConfig(options), catalog, *registry, log);
  server.Start(Millis(options.connect_timeout_s));
  std::unique_ptr<Api> api;
  std::unique_ptr<HttpApiServer> http;
  if (options.api != "off") {
    api = std::make_unique<Api>(
        *registry, ApiToken(options.api_token_file, log), [&server] { server.WakeFleet(); },
        ApiToken(options.viewer_token_file, log));
    HttpOptions http_options;
    http_options.metrics = [&server, &registry] { return server.RenderMetrics(*registry); };
    http_options.counters = &server.metrics();
    http = std::make_unique<HttpApiServer>(*api, log, http_options);
    http->Start(options.api_host, options.api_port);
    const std::string base = "http://" + options.api_host + ":" + std::to_string(http->port());
    log.Info("api: " + base + "/api/v1/ (token in " + options.api_token_file + ")");
    log.Info("dashboard: " + base + "/ui/ (operator's token in " + options.api_token_file +
             ", viewer's in " + options.viewer_token_file + "); metrics: " + base + "/metrics");
  }
  log.Info("ready: " + std::to_string(catalog->entries().size()) + " images, broker " +
           options.host + ":" + std::to_string(options.port) + (options.tls ? " (TLS)" : "") +
           ", requests on " +
           SharedSubscription(options.share_group, RequestSubscription(options.prefix)) + ", " +
           std::to_string(options.workers) + " workers" +
           (options.share_group.empty() ? "" : ", client id " + options.client_id));

  int signal_number = 0;
  for (;;) {
    sigwait(&stop_signals, &signal_number);
    if (signal_number != SIGHUP) break;
    // Publishing a release: load the catalog again; a bad one keeps the old.
    try {
      auto fresh =
          std::make_shared<const Catalog>(Catalog::Load(paths, MakeCatalogOptions(options)));
      LogCatalog(*fresh, log);
      const size_t images = fresh->entries().size();
      // Serve it first, then say so: whoever reads the line gets the new one.
      server.ReplaceCatalog(std::move(fresh));
      log.Info("catalog reloaded: " + std::to_string(images) + " images");
    } catch (const std::exception& e) {
      log.Error(std::string("catalog not reloaded, still serving the old one: ") + e.what());
    }
  }
  log.Info(std::string(strsignal(signal_number)) + ": stopping");
  if (http) http->Stop();
  server.Stop(Millis(options.shutdown_grace_s));
  const auto stats = server.stream_stats();
  log.Info("stopped after " + std::to_string(stats.streams_done) + " streams, " +
           std::to_string(stats.chunks_sent) + " chunks");
  return 0;
}

}  // namespace

namespace {

int Run(int argc, char** argv) {
  // Block the stop signals in every thread (threads inherit the mask), so
  // they are taken only by sigwait() in Serve, never in the middle of a
  // library call on some other thread.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGHUP);  // not a stop: reload the catalog
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);  // a dropped broker connection is an error value, not a death

  CLI::App app{
      "mqota-server: serves signed firmware images to devices over MQTT (anycloud-ota "
      "protocol) and runs rollouts over a fleet.\nKeeps a registry of devices, images, "
      "campaigns and every device event in --db; answers \"Update Availability\" with the "
      "image of the device's running campaign (or, with --offer-newest, the newest newer "
      "image of its board), streams it on \"Request Update\", serves \"Request Data "
      "Chunk\", records results and progress, and serves the fleet API (--api) that `mqota "
      "fleet` uses, /metrics for Prometheus and a dashboard (/ui/) on the same listener. Runs "
      "until SIGINT or SIGTERM; SIGHUP reloads the catalog."};
  app.name("mqota-server");
  app.set_version_flag("--version", "mqota-server 0.1.0");
  ServerOptions options;
  AddOptions(app, options);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) return app.exit(e);
    std::cerr << "mqota-server: " << DescribeParseError(app, e) << " (see --help)\n";
    return host::kExitUsage;
  }
  try {
    return Serve(options, stop_signals);
  } catch (const host::CommandError& e) {
    std::cerr << "mqota-server: " << e.what() << "\n";
    return e.exit_code();
  } catch (const ServerError& e) {
    std::cerr << "mqota-server: " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "mqota-server: internal error: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace

int main(int argc, char** argv) { return mqota::host::RunMain("mqota-server", Run, argc, argv, 1); }
