// The fleet's HTTP JSON API (docs/spec/fleet-api.md) as a function from a
// request to a response over the registry: no sockets here, so every route,
// status and sentence is tested without a network; http_api_server.h serves
// it with cpp-httplib. `mqota fleet`, the dashboard and CI pipelines are its
// clients.
#pragma once

#include <functional>
#include <map>
#include <string>

#include "mqota/fleet/registry.h"

namespace mqota::server {

struct ApiRequest {
  std::string method;  // "GET", "POST", "PUT"
  std::string path;    // without the query
  std::map<std::string, std::string> query;
  std::string body;
  std::string authorization;  // the Authorization header, "" when absent
};

struct ApiResponse {
  int status = 200;
  std::string body;  // JSON; errors are {"error": "<one sentence>"}
};

class Api {
 public:
  // `token`: every request must carry "Authorization: Bearer <token>".
  // `changed` runs after a campaign is created or resumed, so the server
  // tells its devices at once rather than at its next tick.
  Api(fleet::Registry& registry, std::string token, std::function<void()> changed = {});

  ApiResponse Handle(const ApiRequest& request, fleet::TimeMs now) const;

 private:
  ApiResponse Route(const ApiRequest& request, fleet::TimeMs now) const;
  ApiResponse Devices(const ApiRequest& request) const;
  ApiResponse Device(const std::string& id, const ApiRequest& request) const;
  ApiResponse SetTags(const std::string& id, const ApiRequest& request) const;
  ApiResponse Images() const;
  ApiResponse Campaigns() const;
  ApiResponse Campaign(int64_t id) const;
  ApiResponse CreateCampaign(const ApiRequest& request, fleet::TimeMs now) const;
  ApiResponse Control(int64_t id, const std::string& command, fleet::TimeMs now) const;
  bool Authorized(const ApiRequest& request) const;

  fleet::Registry& registry_;
  const std::string token_;
  const std::function<void()> changed_;
};

// A fresh random token (32 bytes from the OS, hex).
std::string NewApiToken();

}  // namespace mqota::server
