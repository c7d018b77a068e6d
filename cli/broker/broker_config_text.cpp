// The text of mosquitto.conf and the ACL file (broker_config.h).
#include <algorithm>
#include <sstream>

#include "broker/broker_config.h"

namespace mqota::cli {
namespace {

// mosquitto.conf's per-client limits, sized for the download window.
struct QueueLimits {
  int inflight;
  int queued;
};

// The server's connection carries every device's chunk requests: with a
// whole fleet asking at once, up to `window` each, and mosquitto drops what
// exceeds the queue without a word (the device then waits out a timeout).
QueueLimits LimitsFor(int window, size_t devices) {
  const size_t fleet = 2 * static_cast<size_t>(window) * devices;
  return {std::max(20, 2 * window + 4),
          static_cast<int>(std::min<size_t>(
              1000000, std::max<size_t>({1000, 16 * static_cast<size_t>(window), fleet})))};
}

// Room for the largest chunk: 65535 data bytes, the 32-byte chunk header, a
// reply topic of up to 256 bytes and MQTT's own few bytes.
constexpr int kMaxPacketBytes = 128 * 1024;

void Logging(std::ostream& out, const BrokerConfigOptions& options) {
  out << "# Connections and refusals are logged: a refused certificate or an ACL denial\n"
      << "# shows up here first.\n";
  if (options.log.empty()) {
    out << "log_dest stderr\n";
  } else {
    out << "log_dest file " << options.log.string() << "\n";
  }
  out << "log_type error\nlog_type warning\nlog_type notice\nlog_type information\n"
      << "connection_messages true\n"
      << "log_timestamp_format %Y-%m-%dT%H:%M:%S\n\n";
}

void Queues(std::ostream& out, const BrokerConfigOptions& options, size_t devices) {
  const QueueLimits limits = LimitsFor(options.window, devices);
  out << "# Queues, sized for mqota-server's download window of " << options.window
      << " chunks (4..64 KiB each)\n"
      << "# per device. The broker sends a client at most max_inflight_messages unacknowledged\n"
      << "# QoS 1 messages and queues the rest; below the window every burst would wait a round\n"
      << "# trip for PUBACKs. Past max_queued_messages it drops messages silently, and a dropped\n"
      << "# chunk stalls a device until it asks again; the server's client receives every\n"
      << "# device's requests, so its queue is sized for a fleet (" << devices
      << " devices x the window x 2), not for one window.\n"
      << "max_inflight_messages " << limits.inflight << "\n"
      << "max_queued_messages " << limits.queued << "\n"
      << "# The largest message is a 64 KiB chunk with its header and topic; nothing bigger\n"
      << "# is legitimate, so nothing bigger is accepted.\n"
      << "max_packet_size " << kMaxPacketBytes << "\n\n";
}

void TlsListener(std::ostream& out, const BrokerConfigFiles& files) {
  out << "# Mutual TLS: a client must present a certificate issued by the CA, and its CN\n"
      << "# (the device id, or mqota-server) is its username in the ACL file.\n"
      << "cafile " << files.ca_cert.string() << "\n"
      << "certfile " << files.broker_cert.string() << "\n"
      << "keyfile " << files.broker_key.string() << "\n"
      << "tls_version tlsv1.2\n"
      << "require_certificate true\n"
      << "use_identity_as_username true\n"
      << "# The client id is the CN too, whatever the client asks for: a device cannot take\n"
      << "# over another's id (which would disconnect it), nor the server's.\n"
      << "use_username_as_clientid true\n";
}

void PlainListener(std::ostream& out, const BrokerConfigOptions& options) {
  out << "# PLAIN TCP, no certificates: every client is anonymous and could claim any client\n"
      << "# id or username, so nothing tells a device from another or from the server. What\n"
      << "# protects this broker is that it listens on loopback (" << options.bind
      << ") only: just the users of this\n"
      << "# host can reach it. Use `mqota broker-config` without --plain for anything else.\n";
}

// Said in the file, where whoever audits the broker reads it.
void ReferenceDevicesNote(std::ostream& out, const std::string& p) {
  out << "# --reference-devices: every device below may also read the topics the reference\n"
      << "# devices wait on: " << p << "/<board>/OTAImage/+ (anycloud-ota) and " << p
      << "/<board>/subscriber/+\n"
      << "# (its emulator, subscriber.py), which lie under no device id. This GIVES UP the\n"
      << "# confidentiality of answers between the devices of a board: any of them can read the\n"
      << "# job documents, image chunks and results the server sends to every reference device\n"
      << "# of that board (of every board, for a device whose board is '+'). A device still\n"
      << "# publishes only on its request topic and reads no other board's topics, and an mqota\n"
      << "# agent's session topic " << p
      << "/<board>/OTAImage/<id>/<nonce> stays its own: '+' matches\n"
      << "# exactly one topic level.\n\n";
}

void DeviceGrants(std::ostream& out, const BrokerConfigOptions& options, const BrokerDevice& d) {
  const std::string& p = options.topic_prefix;
  const std::string board = d.board.empty() ? "+" : d.board;
  const std::string own = p + "/" + board + "/device/" + d.id + "/";
  out << "\n# Device " << d.id << (d.board.empty() ? ", any board" : ", board " + d.board)
      << ": asks on its own request topic (only it may: the server knows who asks)\n"
      << "# or, without an mqota-server, on its board's shared one; reads only its own answers\n"
      << "# and nudges, and the server's announcement; says it is online or offline (its will)\n"
      << "# on its status topic"
      << (options.reference_devices ? ", and the board's reference-device answers (above)" : "")
      << ".\n"
      << "user " << d.id << "\n"
      << "topic write " << own << "request\n"
      << "topic write " << own << "status\n"
      << "topic read " << own << "notify\n"
      << "topic read " << p << "/mqota-server/announce\n"
      << "topic write " << p << "/" << board << "/publish_notify\n"
      << "topic read " << p << "/" << board << "/OTAImage/" << d.id << "/#\n";
  if (options.reference_devices) {
    // docs/spec/reference-protocol.md#topics: <P>/<B>/OTAImage/<n> and
    // <P>/<B>/subscriber/image<random>, one level each.
    out << "topic read " << p << "/" << board << "/OTAImage/+\n"
        << "topic read " << p << "/" << board << "/subscriber/+\n";
  }
}

}  // namespace

std::string MosquittoConf(const BrokerConfigOptions& options, const BrokerConfigFiles& files,
                          size_t devices) {
  std::ostringstream out;
  out << "# mosquitto configuration for mqota, written by `mqota broker-config`.\n"
      << "# Run: mosquitto -c " << files.config.string() << "\n\n"
      << "# Started as root, mosquitto switches to this user before it reads the key, the ACL\n"
      << "# and the log file, so they are readable by it (mqota broker-config, run as root,\n"
      << "# chowns the key and the log file to it).\n"
      << "user " << options.user << "\n\n"
      << "# The state that matters lives in mqota-server and the devices; a restarted broker\n"
      << "# must not replay stale chunks from a previous run.\n"
      << "persistence false\n\n";
  Logging(out, options);
  Queues(out, options, devices);
  out << "# Without this a small request or answer can wait for an ACK (Nagle + delayed ACK):\n"
      << "# tens of milliseconds per exchange.\n"
      << "set_tcp_nodelay true\n\n"
      << "# One listener; the security settings below apply to it.\n"
      << "per_listener_settings false\n"
      << "allow_anonymous " << (options.plain ? "true" : "false") << "\n"
      << "acl_file " << files.acl.string() << "\n\n"
      << "listener " << files.port << " " << options.bind << "\n"
      << "protocol mqtt\n";
  if (options.plain) {
    PlainListener(out, options);
  } else {
    TlsListener(out, files);
  }
  return out.str();
}

std::string AclText(const BrokerConfigOptions& options, const std::vector<BrokerDevice>& devices) {
  const std::string& p = options.topic_prefix;
  std::ostringstream out;
  out << "# mosquitto ACL for mqota, written by `mqota broker-config`.\n";
  if (options.plain) {
    out << "# PLAIN broker: clients are anonymous, so there is no identity to grant rights to.\n"
        << "# This only keeps local clients inside the mqota topics; it separates nothing.\n"
        << "topic readwrite " << p << "/#\n";
    return out.str();
  }
  out << "# Usernames are client certificate CNs (use_identity_as_username). Whatever is not\n"
      << "# granted here is denied, including $SYS and every topic of another device.\n\n";
  if (options.reference_devices) ReferenceDevicesNote(out, p);
  out << "# The server: reads every board's requests, answers on each device's topics.\n"
      << "user " << options.server_client << "\n"
      << "topic readwrite " << p << "/#\n";
  for (const std::string& id : options.observers) {
    out << "\n# Observer " << id << ": reads every mqota topic, publishes nothing.\n"
        << "user " << id << "\n"
        << "topic read " << p << "/#\n";
  }
  for (const BrokerDevice& d : devices) DeviceGrants(out, options, d);
  return out.str();
}

}  // namespace mqota::cli
