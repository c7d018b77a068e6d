// One device's MQTT connection, served by its worker rather than by a thread
// of its own (posix::MqttClient runs one per connection: 1000 devices would be
// 1000 threads). libmosquitto in non-threaded mode: the worker's epoll set
// says when the socket is ready and OnReady calls mosquitto_loop_read/_write;
// OnTime does what mosquitto_loop() would on a timer (keep-alive), and what
// MqttClient adds (a connect timeout, reconnection with back-off and jitter).
// Not mosquitto_loop() itself: it select()s, and select() cannot take a
// descriptor above 1023, which a fleet of 1000 has.
//
// Messages are copied into an inbox: the agent reads them later, outside
// libmosquitto's callbacks, so what it publishes in answer is written at once.
#pragma once

#include <cstdint>
#include <deque>
#include <span>
#include <string>
#include <string_view>
#include <vector>

struct mosquitto;
struct mosquitto_message;

namespace mqota::sim {

struct MqttEndpoint {
  std::string host = "127.0.0.1";  // an address: no name lookup on a worker
  int port = 1883;
  std::string client_id;
  bool tls = false;
  std::string ca_file, cert_file, key_file;
  int keepalive_s = 30;
  // Presence (docs/spec/mqota-protocol.md#presence): when set, "online" is
  // published there (retained) on every connection and the will says
  // "offline" when the connection is lost.
  std::string status_topic;
};

struct InboxMessage {
  std::string topic;
  std::vector<uint8_t> payload;
};

class PooledMqtt {
 public:
  // `epoll_fd` and `tag`: the worker's set, and the tag its member has there.
  PooledMqtt(MqttEndpoint endpoint, int epoll_fd, uint64_t tag, uint64_t jitter_seed);
  ~PooledMqtt();  // closes the socket without DISCONNECT, as a reset would
  PooledMqtt(const PooledMqtt&) = delete;
  PooledMqtt& operator=(const PooledMqtt&) = delete;

  // Starts the first connection attempt. False (error() says why) when the
  // options are unusable: libmosquitto refused them, or the TLS files.
  bool Open(uint64_t now_ms);
  void OnReady(uint32_t epoll_events, uint64_t now_ms);
  void OnTime(uint64_t now_ms);
  // After the owner's work: watch the socket for what libmosquitto wants now
  // (reading always; writing while it has bytes to send).
  void SyncWatch();
  uint64_t next_time_ms() const;

  bool connected() const { return connected_; }
  // Each true once per change: the owner tells the agent about it.
  bool TakeConnected();
  bool TakeDisconnected();
  std::deque<InboxMessage>& inbox() { return inbox_; }
  const std::string& error() const { return error_; }

  // QoS 1; false when not connected or libmosquitto refused.
  bool Subscribe(std::string_view topic);
  bool Unsubscribe(std::string_view topic);
  bool Publish(std::string_view topic, std::span<const uint8_t> payload, bool retain = false);

  // A fault: the network drops the connection (no DISCONNECT, no FIN
  // exchange first); it reconnects after its back-off.
  void Drop();

 private:
  static void OnConnect(mosquitto* mosq, void* self, int rc);
  static void OnDisconnect(mosquitto* mosq, void* self, int rc);
  static void OnMessage(mosquitto* mosq, void* self, const mosquitto_message* message);
  // The connection (or the attempt) is over: stop watching the socket and
  // try again after the back-off.
  void Lost(uint64_t now_ms, const std::string& why);
  void Connect(uint64_t now_ms);
  void Unwatch();

  MqttEndpoint endpoint_;
  int epoll_fd_;
  uint64_t tag_;
  uint64_t jitter_state_;
  mosquitto* mosq_ = nullptr;
  int watched_fd_ = -1;
  uint32_t watched_events_ = 0;
  bool connecting_ = false;  // an attempt is under way (socket open, no CONNACK yet)
  bool connected_ = false;
  bool lost_in_callback_ = false;  // libmosquitto closed the socket itself
  bool new_connection_ = false;
  bool new_disconnection_ = false;
  uint64_t attempt_started_ms_ = 0;
  uint64_t poll_at_ms_ = 0;
  uint64_t reconnect_at_ms_ = 0;  // 0: no attempt waiting
  uint64_t misc_at_ms_ = 0;
  int failures_ = 0;
  std::string error_;
  std::deque<InboxMessage> inbox_;
};

}  // namespace mqota::sim
