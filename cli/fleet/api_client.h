// `mqota fleet`'s connection to mqota-server's API (docs/spec/fleet-api.md):
// HTTP with cpp-httplib, the bearer token, and every failure turned into one
// sentence (host::CommandError, exit 1): an unreachable server, a wrong
// token, the API's own {"error": ...}.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>

namespace mqota::cli::fleet {

struct ApiEndpoint {
  std::string url = "http://127.0.0.1:8470";  // scheme, host and port
  std::string token;
};

// The token: $MQOTA_API_TOKEN, else the first line of `token_file`. Throws
// UsageError naming the file when it cannot be read or is empty.
std::string LoadToken(const std::string& token_file);

class ApiClient {
 public:
  explicit ApiClient(ApiEndpoint endpoint);

  nlohmann::json Get(const std::string& path,
                     const std::map<std::string, std::string>& query = {}) const;
  nlohmann::json Post(const std::string& path, const nlohmann::json& body) const;
  nlohmann::json Put(const std::string& path, const nlohmann::json& body) const;

 private:
  nlohmann::json Send(const std::string& method, const std::string& path,
                      const std::string& body) const;
  ApiEndpoint endpoint_;
};

}  // namespace mqota::cli::fleet
