#include "mqota/server/http_api_server.h"

#include <httplib.h>

#include "dashboard_assets.h"
#include "mqota/server/api_json.h"
#include "mqota/server/catalog.h"
#include "mqota/server/fleet_service.h"

namespace mqota::server {
namespace {

constexpr int kThreads = 4;
constexpr char kCookie[] = "mqota_token";
// Pages run only the server's own scripts and styles: a device-supplied
// string that slipped through as markup could still not run.
constexpr char kPolicy[] =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
// Served without a token: the login page and what it needs. They are the
// same bytes in every installation and hold nothing of the fleet.
constexpr std::string_view kPublicAssets[] = {"login.html", "login.js", "style.css"};

const Asset* FindAsset(std::string_view name) {
  for (const Asset& a : DashboardAssets()) {
    if (a.name == name) return &a;
  }
  return nullptr;
}

void PageHeaders(httplib::Response& out) {
  out.set_header("Content-Security-Policy", kPolicy);
  out.set_header("X-Content-Type-Options", "nosniff");
  out.set_header("Referrer-Policy", "no-referrer");
  out.set_header("Cache-Control", "no-store");
}

void SendAsset(const Asset& asset, int status, httplib::Response& out) {
  PageHeaders(out);
  out.status = status;
  out.set_content(std::string(asset.body), std::string(asset.content_type));
}

std::string CookieValue(const std::string& header, std::string_view name) {
  size_t at = 0;
  while (at < header.size()) {
    while (at < header.size() && (header[at] == ' ' || header[at] == ';')) ++at;
    const size_t end = std::min(header.find(';', at), header.size());
    const std::string_view pair(header.data() + at, end - at);
    if (pair.size() > name.size() && pair.starts_with(name) && pair[name.size()] == '=') {
      return std::string(pair.substr(name.size() + 1));
    }
    at = end;
  }
  return "";
}

void Refuse(httplib::Response& out, int status, const std::string& sentence) {
  out.status = status;
  if (status == 401) out.set_header("WWW-Authenticate", "Bearer");
  out.set_content(api::json{{"error", sentence}}.dump(), "application/json");
}

}  // namespace

HttpApiServer::HttpApiServer(const Api& api, Logger& log, HttpOptions options)
    : api_(api), log_(log), options_(std::move(options)) {}

HttpApiServer::~HttpApiServer() { Stop(); }

std::string HttpApiServer::Authorization(const httplib::Request& in, bool* from_cookie) const {
  *from_cookie = false;
  std::string header = in.get_header_value("Authorization");
  if (!header.empty()) return header;
  const std::string token = CookieValue(in.get_header_value("Cookie"), kCookie);
  if (token.empty()) return "";
  *from_cookie = true;
  return "Bearer " + token;
}

void HttpApiServer::ServeApi(const httplib::Request& in, httplib::Response& out) const {
  ApiRequest request;
  request.method = in.method;
  request.path = in.path;
  for (const auto& [key, value] : in.params) request.query[key] = value;
  request.body = in.body;
  bool from_cookie = false;
  request.authorization = Authorization(in, &from_cookie);
  if (from_cookie && in.method != "GET" && in.get_header_value("X-Mqota-UI") != "1") {
    Refuse(out, 403, "a change made with the dashboard's cookie needs \"X-Mqota-UI: 1\"");
    return;
  }
  const ApiResponse response = api_.Handle(request, WallClockMs());
  out.status = response.status;
  if (response.status == 401) out.set_header("WWW-Authenticate", "Bearer");
  out.set_header("Cache-Control", "no-store");
  out.set_content(response.body, "application/json");
}

void HttpApiServer::ServeMetrics(const httplib::Request& in, httplib::Response& out) const {
  bool from_cookie = false;
  if (api_.Authorize(Authorization(in, &from_cookie)) == Role::kNone) {
    Refuse(out, 401, "no token, or a wrong one: /metrics needs \"Authorization: Bearer <token>\"");
    return;
  }
  out.set_content(options_.metrics(), "text/plain; version=0.0.4; charset=utf-8");
}

void HttpApiServer::Login(const httplib::Request& in, httplib::Response& out) const {
  const std::string token = in.get_param_value("token");
  if (token.empty() || api_.Authorize("Bearer " + token) == Role::kNone) {
    SendAsset(*FindAsset("login.html"), 401, out);
    return;
  }
  // No Max-Age: the cookie ends with the browser session.
  out.set_header("Set-Cookie",
                 std::string(kCookie) + "=" + token + "; Path=/; HttpOnly; SameSite=Strict");
  out.set_redirect("/ui/", 303);
}

void HttpApiServer::ServeDashboard(const httplib::Request& in, httplib::Response& out) const {
  std::string name = in.path.substr(std::string_view("/ui/").size());
  if (name.empty()) name = "index.html";
  if (name == "login") name = "login.html";
  const Asset* asset = FindAsset(name);
  bool public_asset = false;
  for (const auto p : kPublicAssets) public_asset = public_asset || p == name;
  bool from_cookie = false;
  const Role role = api_.Authorize(Authorization(in, &from_cookie));
  if (!public_asset && role == Role::kNone) {
    if (name == "index.html") {
      SendAsset(*FindAsset("login.html"), 401, out);  // the page says what to do
    } else {
      Refuse(out, 401, "no token: log in at /ui/login");
    }
    return;
  }
  if (name == "session.json") {
    PageHeaders(out);
    out.set_content(api::json{{"role", role == Role::kOperator ? "operator" : "viewer"}}.dump(),
                    "application/json");
    return;
  }
  if (!asset) {
    Refuse(out, 404, "no such page: " + Printable(in.path, 120));
    return;
  }
  SendAsset(*asset, 200, out);
}

void HttpApiServer::Start(const std::string& host, int port) {
  http_ = std::make_unique<httplib::Server>();
  http_->new_task_queue = [] { return new httplib::ThreadPool(kThreads); };
  // Larger bodies are refused by the library (413) before they are read.
  http_->set_payload_max_length(api::kMaxBodyBytes);
  // Headers and body go out in separate writes: with Nagle's algorithm the
  // body waits for the client's delayed ACK, 40 ms on Linux, on every small
  // answer of a kept-alive connection (bench/README.md, mqota-bench-view).
  http_->set_tcp_nodelay(true);
  http_->set_read_timeout(5, 0);
  http_->set_write_timeout(5, 0);
  const auto serve = [this](const httplib::Request& in, httplib::Response& out) {
    const std::string_view path = in.path;
    if (path == "/metrics" && options_.metrics && in.method == "GET") {
      ServeMetrics(in, out);
    } else if (options_.dashboard && path == "/ui/login" && in.method == "POST") {
      Login(in, out);
    } else if (options_.dashboard && path.starts_with("/ui/") && in.method == "GET") {
      ServeDashboard(in, out);
    } else if (options_.dashboard && (path == "/" || path == "/ui") && in.method == "GET") {
      out.set_redirect("/ui/", 303);
    } else {
      ServeApi(in, out);
    }
    if (options_.counters) options_.counters->CountHttpRequest(out.status);
    log_.Debug("http: " + in.method + " " + Printable(in.path, 120) + " -> " +
               std::to_string(out.status));
  };
  http_->Get(".*", serve);
  http_->Post(".*", serve);
  http_->Put(".*", serve);
  http_->Delete(".*", serve);
  http_->Patch(".*", serve);
  if (port == 0) {
    port_ = http_->bind_to_any_port(host);
  } else {
    port_ = http_->bind_to_port(host, port) ? port : -1;
  }
  if (port_ <= 0) {
    throw ServerError("cannot listen for the API on " + host + ":" + std::to_string(port) +
                      " (in use, or not an address of this host)");
  }
  thread_ = std::thread([this] { http_->listen_after_bind(); });
}

void HttpApiServer::Stop() {
  if (!http_) return;
  http_->stop();
  if (thread_.joinable()) thread_.join();
  http_.reset();
}

}  // namespace mqota::server
