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

// Who a token says the caller is (docs/spec/fleet-api.md#access): the
// operator's token may do everything, the viewer's may only read (GET).
enum class Role : uint8_t { kNone, kViewer, kOperator };

class Api {
 public:
  // `token`: the operator's; every request must carry "Authorization: Bearer
  // <token>" (or the viewer's token, `viewer_token`, for GET; "" for none).
  // `changed` runs after a campaign is created or resumed, so the server
  // tells its devices at once rather than at its next tick.
  Api(fleet::Registry& registry, std::string token, std::function<void()> changed = {},
      std::string viewer_token = "");

  ApiResponse Handle(const ApiRequest& request, fleet::TimeMs now) const;
  // The role of an Authorization header's bearer token.
  Role Authorize(std::string_view authorization) const;

 private:
  ApiResponse Route(const ApiRequest& request, fleet::TimeMs now) const;
  ApiResponse Devices(const ApiRequest& request) const;
  ApiResponse Device(const std::string& id, const ApiRequest& request) const;
  ApiResponse SetTags(const std::string& id, const ApiRequest& request) const;
  ApiResponse Images() const;
  ApiResponse Campaigns() const;
  ApiResponse Campaign(int64_t id) const;
  ApiResponse Summary() const;
  ApiResponse VersionHistory(const ApiRequest& request, fleet::TimeMs now) const;
  ApiResponse CreateCampaign(const ApiRequest& request, fleet::TimeMs now) const;
  ApiResponse Control(int64_t id, const std::string& command, fleet::TimeMs now) const;

  fleet::Registry& registry_;
  const std::string token_;
  const std::string viewer_token_;
  const std::function<void()> changed_;
};

// A fresh random token (32 bytes from the OS, hex).
std::string NewApiToken();

}  // namespace mqota::server
