// mqota-server's command line: the options, their checks and the server
// configuration they make. Private to the executable.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "mqota/server/catalog.h"
#include "mqota/server/log.h"
#include "mqota/server/server.h"

namespace mqota::server {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 0;  // 0: 1883, or 8883 with --tls
  bool tls = false;
  std::string ca_file, cert_file, key_file, tls_version;
  std::string client_id;
  std::string prefix = "mqota";
  // Several instances (docs/scale-out.md): their shared subscription group.
  std::string share_group;
  std::vector<std::string> catalog_dirs;
  std::vector<std::string> image_files;
  std::string board;
  std::vector<std::string> verify_keys;
  int workers = 4;
  int window = 8;
  int max_streams = 64;
  int queue = 16384;  // ServerConfig::queue_capacity says why
  int job_port = 0;   // 0: the broker port
  std::string log_level = "info";
  double connect_timeout_s = 5;
  double shutdown_grace_s = 1;
  double offer_quiet_s = 60;
  // The fleet (docs/spec/fleet-registry.md, docs/spec/fleet-api.md).
  std::string db = "mqota-server.db";
  bool offer_newest = false;
  // Delta patches (docs/spec/mqota-protocol.md#patches).
  bool no_patches = false;
  int patch_max_percent = 50;
  int patch_block_kib = 32;
  std::string patch_cache;             // "": <db>.patches (a URL: mqota-server.patches)
  std::string api = "127.0.0.1:8470";  // "off": no API
  std::string api_token_file;          // "": <db>.token (a URL: mqota-server.token)
  std::string viewer_token_file;       // "": <db>.viewer-token
  std::string api_host;                // from `api`, by CheckOptions
  int api_port = 0;
};

void AddOptions(CLI::App& app, ServerOptions& options);

// What went wrong in parsing, in one line; a problem in the --config file
// names the file.
std::string DescribeParseError(const CLI::App& app, const CLI::ParseError& e);

// Checks what CLI11 cannot check alone; throws host::CommandError (usage) naming
// the problem.
void CheckOptions(ServerOptions& options);

CatalogOptions MakeCatalogOptions(const ServerOptions& options);
ServerConfig MakeServerConfig(const ServerOptions& options);

}  // namespace mqota::server
