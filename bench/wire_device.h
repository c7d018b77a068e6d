// One run of mqota's own device for the wire benchmark: the real agent on RAM
// flash, over MqttClient, driven by AgentRunner as on a Linux host, updated
// from a running mqota-server. Fresh flash and a fresh connection per run; the
// session is started by CheckNow once connected, so the timing holds the
// update alone (not the TCP/TLS connection).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "mqota/image/validate.h"
#include "mqota/ports/posix/mqtt_client.h"
#include "wire_probe.h"

namespace mqota::bench {

inline constexpr char kBenchBoard[] = "MQOTA_VIRTUAL_BOARD";

struct DeviceRunOptions {
  int port = 0;                         // the broker, on 127.0.0.1
  std::string prefix = "mqota";         // the servers' topic prefix
  const posix::MqttTls* tls = nullptr;  // nullptr: plain TCP
  uint32_t window = 8;                  // 0: push (the reference flow)
  size_t image_bytes = 0;               // sizes the slot
  std::span<const image::TrustedKey> trusted;
};

struct DeviceRunResult {
  bool ok = false;
  std::string error;
  // "Update Availability" published to "Success" published: the job round
  // trip, the download, verification and SetPending.
  double seconds = 0;
  double verify_seconds = 0;   // inside the crypto backend: SHA-256 + ECDSA (mbedTLS)
  uint64_t wire_bytes = 0;     // the device's TCP stream, both ways, meanwhile
  ProcessUsage usage;          // this process (server and device), meanwhile
  uint32_t publishes = 0;      // by the device, meanwhile (requests; the result not counted)
  uint64_t publish_bytes = 0;  // their topics and payloads
  bool pull = false, crc = false;
  uint32_t granules = 0, retries = 0;
  std::string tls_version;
  // When each request (of any kind) was published, seconds from the start:
  // the device's side of the timeline, for finding where time goes.
  std::vector<double> request_times;
};

DeviceRunResult RunDevice(const DeviceRunOptions& options);

}  // namespace mqota::bench
