// The floor of the wire benchmark: what moving a 1 MiB image in 4 KiB chunks
// through mosquitto costs with nothing else in the way. Two raw libmosquitto
// clients (mosquitto_* C API, QoS 1, TCP_NODELAY, the library's own network
// threads): the requester asks for chunks by offset, `window` requests in
// flight; the responder answers each request with a 4 KiB payload. No JSON,
// no chunk header, no flash, no verification, no thread hand-off.
#pragma once

#include <cstdint>
#include <string>

#include "wire_probe.h"

namespace mqota::bench {

struct BaselineTls {
  std::string ca_file, requester_cert, requester_key, responder_cert, responder_key;
};

struct BaselineOptions {
  int port = 0;                      // on 127.0.0.1
  const BaselineTls* tls = nullptr;  // nullptr: plain TCP
  // Requests in flight; 0: push, one request and the responder publishes
  // every chunk at once (libmosquitto and the broker pace them at QoS 1).
  uint32_t window = 8;
  uint32_t chunks = 256;
  uint32_t chunk_bytes = 4096;
};

struct BaselineResult {
  bool ok = false;
  std::string error;
  double seconds = 0;       // first request sent to last chunk received
  uint64_t wire_bytes = 0;  // the requester's TCP stream, both ways, meanwhile
  std::string tls_version;  // negotiated ("" for plain TCP)
  ProcessUsage usage;       // this process, meanwhile
};

BaselineResult RunBaseline(const BaselineOptions& options);

// libmosquitto's version, "major.minor.revision".
std::string LibmosquittoVersion();

}  // namespace mqota::bench
