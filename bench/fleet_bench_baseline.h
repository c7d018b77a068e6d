// The fan-out's floor: the same bytes to the same number of subscribers
// through the same broker with nothing else in the way. N raw libmosquitto
// requester clients (each its own connection and network thread, QoS 1,
// TCP_NODELAY: wire_raw_client.h) ask one responder client for chunks by
// offset, `window` requests in flight each; the responder answers every
// request with a `chunk_bytes` payload on the requester's topic. No job, no
// JSON, no chunk header, no flash, no verification, no registry.
#pragma once

#include <cstdint>
#include <string>

namespace mqota::bench {

struct FanoutOptions {
  int port = 0;  // the broker, on 127.0.0.1
  uint32_t devices = 100;
  uint32_t chunks = 256;  // per device
  uint32_t chunk_bytes = 4096;
  uint32_t window = 8;
  uint32_t timeout_s = 60;
};

struct FanoutResult {
  bool ok = false;
  std::string error;
  double seconds = 0;  // the first requests sent to the last device's last chunk
};

FanoutResult RunFanoutBaseline(const FanoutOptions& options);

}  // namespace mqota::bench
