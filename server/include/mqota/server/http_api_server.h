// The API (api.h) over HTTP with cpp-httplib (Debian's libcpp-httplib-dev):
// its own small thread pool, loopback by default, bodies bounded, every
// request logged at debug level. HTTP parsing is the library's, not ours.
#pragma once

#include <memory>
#include <string>
#include <thread>

#include "mqota/server/api.h"
#include "mqota/server/log.h"

namespace httplib {
class Server;
}

namespace mqota::server {

class HttpApiServer {
 public:
  HttpApiServer(const Api& api, Logger& log);
  ~HttpApiServer();  // Stop()
  HttpApiServer(const HttpApiServer&) = delete;
  HttpApiServer& operator=(const HttpApiServer&) = delete;

  // Listens on host:port (0: a free port, see port()). Throws ServerError
  // with a sentence when the address cannot be bound.
  void Start(const std::string& host, int port);
  void Stop();
  int port() const { return port_; }

 private:
  const Api& api_;
  Logger& log_;
  std::unique_ptr<httplib::Server> http_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace mqota::server
