// mqota-server's HTTP listener with cpp-httplib (Debian's libcpp-httplib-dev):
// the fleet API (api.h), /metrics (docs/spec/metrics.md) and the dashboard
// (docs/dashboard.md), on one port with one set of tokens. Its own small
// thread pool, loopback by default, bodies bounded, every request logged at
// debug level. HTTP parsing is the library's, not ours.
//
// A browser carries its token in a cookie (HttpOnly, SameSite=Strict) set by
// POST /ui/login; a request with that cookie and no Authorization header is
// treated as if it carried "Authorization: Bearer <cookie>", and a change
// (POST, PUT) made that way must also carry "X-Mqota-UI: 1", which a page of
// another site cannot send.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "mqota/server/api.h"
#include "mqota/server/log.h"
#include "mqota/server/metrics.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace mqota::server {

struct HttpOptions {
  // /metrics' text; empty: no /metrics (404).
  std::function<std::string()> metrics;
  // Counts every response by status class; may be null.
  Metrics* counters = nullptr;
  bool dashboard = true;  // serve /ui/
};

class HttpApiServer {
 public:
  HttpApiServer(const Api& api, Logger& log, HttpOptions options = {});
  ~HttpApiServer();  // Stop()
  HttpApiServer(const HttpApiServer&) = delete;
  HttpApiServer& operator=(const HttpApiServer&) = delete;

  // Listens on host:port (0: a free port, see port()). Throws ServerError
  // with a sentence when the address cannot be bound.
  void Start(const std::string& host, int port);
  void Stop();
  int port() const { return port_; }

 private:
  // The Authorization header, or the cookie's token made into one.
  std::string Authorization(const httplib::Request& in, bool* from_cookie) const;
  void ServeApi(const httplib::Request& in, httplib::Response& out) const;
  void ServeMetrics(const httplib::Request& in, httplib::Response& out) const;
  void ServeDashboard(const httplib::Request& in, httplib::Response& out) const;
  void Login(const httplib::Request& in, httplib::Response& out) const;

  const Api& api_;
  Logger& log_;
  const HttpOptions options_;
  std::unique_ptr<httplib::Server> http_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace mqota::server
