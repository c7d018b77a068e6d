#include "fleet/api_client.h"

#include <httplib.h>

#include <cstdlib>
#include <fstream>

#include "mqota/host/command_error.h"

namespace mqota::cli::fleet {
namespace {

using nlohmann::json;

host::CommandError Failure(const std::string& sentence) { return {1, sentence}; }

std::string Encode(const std::map<std::string, std::string>& query) {
  if (query.empty()) return "";
  httplib::Params params(query.begin(), query.end());
  return "?" + httplib::detail::params_to_query_str(params);
}

}  // namespace

std::string LoadToken(const std::string& token_file) {
  if (const char* env = std::getenv("MQOTA_API_TOKEN"); env && *env) return env;
  std::ifstream in(token_file);
  if (!in) {
    throw host::UsageError("cannot read the API token from " + token_file +
                           " (give --token-file, or set MQOTA_API_TOKEN)");
  }
  std::string token;
  std::getline(in, token);
  while (!token.empty() && (token.back() == '\r' || token.back() == ' ')) token.pop_back();
  if (token.empty()) throw host::UsageError(token_file + " holds no API token");
  return token;
}

ApiClient::ApiClient(ApiEndpoint endpoint) : endpoint_(std::move(endpoint)) {}

json ApiClient::Get(const std::string& path,
                    const std::map<std::string, std::string>& query) const {
  return Send("GET", path + Encode(query), "");
}

json ApiClient::Post(const std::string& path, const json& body) const {
  return Send("POST", path, body.dump());
}

json ApiClient::Put(const std::string& path, const json& body) const {
  return Send("PUT", path, body.dump());
}

json ApiClient::Send(const std::string& method, const std::string& path,
                     const std::string& body) const {
  httplib::Client client(endpoint_.url);
  if (!client.is_valid()) {
    throw host::UsageError("--api " + endpoint_.url + " is not an http://HOST:PORT address");
  }
  client.set_connection_timeout(5, 0);
  client.set_read_timeout(30, 0);
  client.set_bearer_token_auth(endpoint_.token);
  httplib::Result result = method == "GET"    ? client.Get(path)
                           : method == "POST" ? client.Post(path, body, "application/json")
                                              : client.Put(path, body, "application/json");
  if (!result) {
    throw Failure("cannot reach mqota-server's API at " + endpoint_.url + ": " +
                  httplib::to_string(result.error()) +
                  " (is mqota-server running, with --api at that address?)");
  }
  json answer = json::parse(result->body, nullptr, /*allow_exceptions=*/false);
  if (result->status >= 400) {
    if (answer.is_object() && answer.contains("error") && answer["error"].is_string()) {
      throw Failure(answer["error"].get<std::string>());
    }
    throw Failure(method + " " + path + ": HTTP " + std::to_string(result->status));
  }
  if (answer.is_discarded()) throw Failure(method + " " + path + ": the answer is not JSON");
  return answer;
}

}  // namespace mqota::cli::fleet
