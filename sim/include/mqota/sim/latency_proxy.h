// A TCP proxy that delays every byte, in each direction, by a fixed time:
// network latency between simulated devices and the broker, on a machine
// without netem (and without root). One thread, epoll; bytes are forwarded
// exactly and in order, a connection closed on one side is closed on the
// other once what it sent has been delivered. A direction holding more than
// 4 MiB stops reading its source until it drains (TCP back-pressure).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace mqota::sim {

class LatencyProxy {
 public:
  // Listens on 127.0.0.1, on `listen_port` (0: any free port), and connects
  // each client to upstream_host:upstream_port (an IP address). Throws
  // std::runtime_error when it cannot listen.
  LatencyProxy(const std::string& upstream_host, int upstream_port, std::chrono::milliseconds delay,
               int listen_port = 0);
  ~LatencyProxy();  // closes every connection and joins the thread
  LatencyProxy(const LatencyProxy&) = delete;
  LatencyProxy& operator=(const LatencyProxy&) = delete;

  int port() const;

  struct Stats {
    uint64_t connections = 0;  // accepted
    uint64_t bytes_up = 0;     // client -> upstream, delivered
    uint64_t bytes_down = 0;   // upstream -> client, delivered
  };
  Stats stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mqota::sim
