// An MQTT client on libmosquitto (Debian's libmosquitto-dev), for the host:
// the device's POSIX port and mqota-server both use it. One connection, its
// network loop on a thread of the client's own (around mosquitto_loop, see
// mqtt_client.cpp); messages arrive through a callback on that thread.
//
// TLS: with `tls` set, the server certificate is verified against the CA
// (and its IP/DNS name), the client presents its certificate, and the TLS
// version is pinned when asked. TCP_NODELAY is always on: without it every
// request/response exchange costs ~90 ms (Nagle + delayed ACK).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace mqota::posix {

struct MqttTls {
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
  std::string version;  // "" (library default), "tlsv1.2" or "tlsv1.3"
};

// What the broker publishes for the client when the connection dies without
// a DISCONNECT (a crash, kill -9, a dropped network).
struct MqttWill {
  std::string topic;
  std::string payload;  // "" with retain: clears the topic's retained message
  bool retain = false;
};

struct MqttOptions {
  std::string host = "127.0.0.1";
  int port = 1883;
  std::string client_id;  // "" = generated
  bool tls_enabled = false;
  MqttTls tls;
  int keepalive_seconds = 30;
  // Messages the client may have in flight (QoS 1); 0 = libmosquitto default.
  int max_inflight_messages = 0;
  // Bytes (topic + payload) published and not yet acknowledged by the broker
  // at most; 0 = no bound. Beyond it Publish waits for room, at most
  // `publish_wait`, then fails (a publish from the client's own handlers
  // never waits: only their thread takes the acknowledgements).
  size_t max_unacked_bytes = 0;
  std::chrono::milliseconds publish_wait{5000};
  // Reconnection back-off: the wait after a failed attempt or a drop doubles
  // from min to max (with jitter), and resets once connected. An attempt with
  // no CONNACK after connect_timeout is abandoned and retried.
  std::chrono::milliseconds reconnect_delay_min{250};
  std::chrono::milliseconds reconnect_delay_max{8000};
  std::chrono::milliseconds connect_timeout{10000};
  std::optional<MqttWill> will;  // QoS 1
  // Publish the will on a clean stop too (MQTT drops it on DISCONNECT): for
  // a will that tells the client is gone, whichever way it went.
  bool will_on_stop = false;
  // Published (QoS 1) on every connection, before the connection handler
  // runs: the will's counterpart ("online" where the will says "offline").
  std::optional<MqttWill> birth;
};

struct MqttMessage {
  std::string_view topic;
  std::span<const uint8_t> payload;
};

class MqttClient {
 public:
  using MessageHandler = std::function<void(const MqttMessage&)>;
  using ConnectionHandler = std::function<void(bool connected)>;

  explicit MqttClient(MqttOptions options);
  ~MqttClient();  // disconnects and stops the loop thread
  MqttClient(const MqttClient&) = delete;
  MqttClient& operator=(const MqttClient&) = delete;

  // Set before Start(). Handlers run on the client's network thread, never
  // after the destructor has begun (it does not report its own disconnect).
  void OnMessage(MessageHandler handler);
  void OnConnection(ConnectionHandler handler);

  // Starts the network thread and connects (reconnecting by itself after a
  // drop, with back-off). Returns false with error() set when the options are
  // unusable (e.g. unreadable certificate files).
  bool Start();
  // Waits until connected (true) or the timeout passes (false). Returns after
  // the connection handler has run for this connection.
  bool WaitConnected(std::chrono::milliseconds timeout);
  bool connected() const;

  // QoS 1, retain 0 unless told. Queued; false if libmosquitto refused it.
  bool Subscribe(std::string_view topic, int qos = 1);
  bool Unsubscribe(std::string_view topic);
  bool Publish(std::string_view topic, std::span<const uint8_t> payload, int qos = 1,
               bool retain = false);

  // The last error, as a sentence.
  std::string error() const;

  // The current connection, for diagnostics and tests ("" / false when not
  // connected): the negotiated TLS protocol ("TLSv1.2", "TLSv1.3"; "" for
  // plain TCP), and whether the socket really has TCP_NODELAY set.
  std::string tls_version() const;
  bool tcp_nodelay() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mqota::posix
