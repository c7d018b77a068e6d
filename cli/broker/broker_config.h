// `mqota broker-config`: a mosquitto 2.0 configuration for mqota and its ACL
// file, as a C++ API (the CLI command, `mqota demo` and the tests call it).
//
// Files written in OUT (atomically; absolute paths in mosquitto.conf, since
// mosquitto resolves relative ones against its working directory):
//
//   OUT/mosquitto.conf   run `mosquitto -c OUT/mosquitto.conf`
//   OUT/acl              who may publish and read what (below)
//   OUT/ca.crt           copies from the certs DIR (TLS only): the broker's
//   OUT/broker.crt         host needs these three and never the CA's key,
//   OUT/broker.key         so OUT can be deployed alone
//
// TLS (the default): client certificates required, the certificate's CN is
// the username, no anonymous clients, TLS 1.2 or newer (the reference's broker
// takes anonymous clients and has no ACL: S3). The client id is the CN as
// well (use_username_as_clientid), so no client can take over another's. The
// ACL gives (docs/spec/mqota-protocol.md#device-topics)
//   a device:   write <prefix>/<board>/device/<id>/request  (its own requests)
//               write <prefix>/<board>/device/<id>/status   (presence: birth and will)
//               read  <prefix>/<board>/device/<id>/notify   (nudges)
//               read  <prefix>/mqota-server/announce
//               write <prefix>/<board>/publish_notify  (the shared request topic)
//               read  <prefix>/<board>/OTAImage/<id>/#  (its answers)
//               (<board> is '+' when the device's board is not given)
//   the server: readwrite <prefix>/#
// and nothing else to anyone (no other topics, no $SYS).
//
// Reference devices (`reference_devices`): Infineon's anycloud-ota device
// waits on <prefix>/<board>/OTAImage/<n> and its emulator (subscriber.py) on
// <prefix>/<board>/subscriber/image<n>
// (docs/spec/reference-protocol.md#topics); neither lies under a device id, so
// the ACL above drops the server's answers silently and the device waits
// forever. This mode adds, for every device,
//               read  <prefix>/<board>/OTAImage/+
//               read  <prefix>/<board>/subscriber/+
// What it gives up: the confidentiality of answers between the devices of a
// board. Any device of that board (of every board, for a device without one)
// can read every reference-shaped answer there: the job documents, image
// chunks and results meant for the other reference devices. It still cannot
// publish anywhere but its request topic, nor read another board's topics,
// and mqota agents' session topics <prefix>/<board>/OTAImage/<id>/<nonce>
// stay private to their device ('+' matches exactly one level). Refused with
// `plain`, whose ACL already lets everyone read <prefix>/#.
//
// Plain (`plain`): no certificates means no identities: every client is
// anonymous and could claim any client id or username, so an ACL cannot
// separate devices from each other or from the server. What protects a plain
// broker is that it listens on loopback only (other addresses are refused):
// only local users reach it. Its ACL only keeps anonymous clients inside
// <prefix>/#. For a single-host demo or development; use TLS on a network.
//
// The run-as user: mosquitto started as root switches to `user` before it
// reads the key, the ACL and the log file (observed with 2.0.11), so those
// must be readable by that user. When this runs as root, OUT/broker.key (mode
// 0600) and the log file are chowned to it.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace mqota::cli {

struct BrokerDevice {
  std::string id;
  std::string board;  // "" = any board ('+' in the ACL)
};

struct BrokerConfigOptions {
  std::filesystem::path certs;  // a `mqota certs` DIR; not used with `plain`
  std::filesystem::path out;    // created if missing
  int port = 0;                 // 0: 8883 (TLS) or 1883 (plain)
  std::string bind = "127.0.0.1";
  bool plain = false;
  bool reference_devices = false;  // also grant the reference device's topics (above)
  std::string topic_prefix = "mqota";
  // Unset: every client certificate in certs/clients except the server's,
  // with any board.
  std::optional<std::vector<BrokerDevice>> devices;
  std::string server_client = "mqota-server";
  // Clients that may read <prefix>/# and publish nothing: a monitor, a wire
  // tap. Each needs its own certificate: client ids are the CN
  // (use_username_as_clientid), so a second client with the server's
  // certificate would take over the server's connection.
  std::vector<std::string> observers;
  std::filesystem::path log;  // empty: mosquitto logs to stderr
  int window = 8;             // chunks a device has in flight (mqota-server --window)
  std::string user = "mosquitto";
};

struct BrokerConfigFiles {
  std::filesystem::path config, acl;
  std::filesystem::path ca_cert, broker_cert, broker_key;  // empty with plain
  int port = 0;
  // Things that will stop the broker from starting, found but not fatal
  // here (the files may be deployed elsewhere): e.g. a directory the
  // run-as user cannot enter.
  std::vector<std::string> warnings;
};

// "ID" or "ID:BOARD", both checked as MQTT names (common/mqtt_names.h).
// Throws UsageError.
BrokerDevice ParseBrokerDevice(const std::string& spec);

// The file contents, for given absolute paths (`files`). Pure functions;
// they expect validated options (WriteBrokerConfig validates).
// `devices`: how many the ACL admits; the queues are sized for them.
std::string MosquittoConf(const BrokerConfigOptions& options, const BrokerConfigFiles& files,
                          size_t devices);
std::string AclText(const BrokerConfigOptions& options, const std::vector<BrokerDevice>& devices);

// Validates, copies the broker's certificate and key and the CA certificate
// from `certs`, and writes mosquitto.conf and acl into `out`. Throws
// UsageError, before writing anything, for: an invalid id, board, prefix,
// port (1..65535), window (1..1024), a bind address that is not loopback
// with `plain`, control characters in a path, a certs DIR without ca.crt,
// broker.crt or broker.key, `reference_devices` with `plain`, and (as root)
// an unknown `user`; and naming the path when a file cannot be written or
// chowned.
BrokerConfigFiles WriteBrokerConfig(const BrokerConfigOptions& options);

}  // namespace mqota::cli
