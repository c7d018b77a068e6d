#include "mqota/server/http_api_server.h"

#include <httplib.h>

#include "mqota/server/api_json.h"
#include "mqota/server/catalog.h"
#include "mqota/server/fleet_service.h"

namespace mqota::server {
namespace {

constexpr int kThreads = 4;

}  // namespace

HttpApiServer::HttpApiServer(const Api& api, Logger& log) : api_(api), log_(log) {}

HttpApiServer::~HttpApiServer() { Stop(); }

void HttpApiServer::Start(const std::string& host, int port) {
  http_ = std::make_unique<httplib::Server>();
  http_->new_task_queue = [] { return new httplib::ThreadPool(kThreads); };
  // Larger bodies are refused by the library (413) before they are read.
  http_->set_payload_max_length(api::kMaxBodyBytes);
  http_->set_read_timeout(5, 0);
  http_->set_write_timeout(5, 0);
  const auto serve = [this](const httplib::Request& in, httplib::Response& out) {
    ApiRequest request;
    request.method = in.method;
    request.path = in.path;
    for (const auto& [key, value] : in.params) request.query[key] = value;
    request.body = in.body;
    request.authorization = in.get_header_value("Authorization");
    const ApiResponse response = api_.Handle(request, WallClockMs());
    out.status = response.status;
    if (response.status == 401) out.set_header("WWW-Authenticate", "Bearer");
    out.set_content(response.body, "application/json");
    log_.Debug("api: " + in.method + " " + Printable(in.path, 120) + " -> " +
               std::to_string(response.status));
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
