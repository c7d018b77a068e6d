#include "pooled_mqtt.h"

#include <mosquitto.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <mutex>
#include <system_error>
#include <utility>

#include "mqota/agent/protocol.h"

namespace mqota::sim {
namespace {

constexpr uint64_t kConnectTimeoutMs = 10000;
constexpr uint64_t kMiscIntervalMs = 1000;  // keep-alive checks
// While an attempt is under way, its socket is also prodded on a timer: a
// TLS handshake step that epoll did not report (libmosquitto hides whether
// it waits to read or to write) cannot stall it.
constexpr uint64_t kConnectingPollMs = 50;
constexpr uint64_t kBackoffMinMs = 250;
constexpr uint64_t kBackoffMaxMs = 8000;
constexpr int kSslVerifyPeer = 1;  // SSL_VERIFY_PEER, without including OpenSSL

std::once_flag g_library_once;

// libmosquitto 2.0 sets OpenSSL up for mosquitto_tls_set() lazily, inside the
// first connect that gets a socket (net__init_tls), and without a lock: two
// workers connecting at once both create its UI method and one of them leaks
// (LeakSanitizer saw it). Until one connect has got that far, TLS connects
// take turns; after that they run side by side.
std::mutex g_tls_setup_mutex;
std::atomic<bool> g_tls_set_up{false};

struct ConnectResult {
  int rc;
  int err;  // errno right after the call, for MOSQ_ERR_ERRNO
};

template <typename Connect>
ConnectResult ConnectTakingTurnsUntilTlsIsSetUp(bool tls, Connect connect) {
  const auto call = [&connect] {
    errno = 0;
    const int rc = connect();
    return ConnectResult{rc, errno};
  };
  if (!tls || g_tls_set_up.load(std::memory_order_acquire)) return call();
  const std::lock_guard lock(g_tls_setup_mutex);
  const ConnectResult result = call();
  // An asynchronous connect that succeeded has created its socket and so
  // passed the TLS set-up.
  if (result.rc == MOSQ_ERR_SUCCESS) g_tls_set_up.store(true, std::memory_order_release);
  return result;
}

std::string SocketError(int fd) {
  int err = 0;
  socklen_t length = sizeof err;
  getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &length);
  return err == 0 ? "the connection failed" : std::generic_category().message(err);
}

}  // namespace

PooledMqtt::PooledMqtt(MqttEndpoint endpoint, int epoll_fd, uint64_t tag, uint64_t jitter_seed)
    : endpoint_(std::move(endpoint)),
      epoll_fd_(epoll_fd),
      tag_(tag),
      jitter_state_(jitter_seed | 1) {}

PooledMqtt::~PooledMqtt() {
  Unwatch();
  if (mosq_ != nullptr) mosquitto_destroy(mosq_);  // closes the socket
}

bool PooledMqtt::Open(uint64_t now_ms) {
  std::call_once(g_library_once, [] { mosquitto_lib_init(); });
  mosq_ = mosquitto_new(endpoint_.client_id.c_str(), /*clean_session=*/true, this);
  if (mosq_ == nullptr) {
    error_ = "mosquitto_new failed: " + std::generic_category().message(errno);
    return false;
  }
  mosquitto_int_option(mosq_, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
  mosquitto_int_option(mosq_, MOSQ_OPT_TCP_NODELAY, 1);
  if (!endpoint_.status_topic.empty()) {
    mosquitto_will_set(mosq_, endpoint_.status_topic.c_str(),
                       static_cast<int>(agent::kStatusOffline.size()), agent::kStatusOffline.data(),
                       1, /*retain=*/true);
  }
  mosquitto_connect_callback_set(mosq_, &PooledMqtt::OnConnect);
  mosquitto_disconnect_callback_set(mosq_, &PooledMqtt::OnDisconnect);
  mosquitto_message_callback_set(mosq_, &PooledMqtt::OnMessage);
  if (endpoint_.tls) {
    const int rc =
        mosquitto_tls_set(mosq_, endpoint_.ca_file.c_str(), nullptr, endpoint_.cert_file.c_str(),
                          endpoint_.key_file.c_str(), nullptr);
    if (rc != MOSQ_ERR_SUCCESS) {
      error_ = "TLS files (" + endpoint_.ca_file + ", " + endpoint_.cert_file + ", " +
               endpoint_.key_file + "): " + mosquitto_strerror(rc);
      return false;
    }
    mosquitto_tls_opts_set(mosq_, kSslVerifyPeer, "tlsv1.2", nullptr);
  }
  const auto [rc, err] = ConnectTakingTurnsUntilTlsIsSetUp(endpoint_.tls, [this] {
    return mosquitto_connect_async(mosq_, endpoint_.host.c_str(), endpoint_.port,
                                   endpoint_.keepalive_s);
  });
  if (rc == MOSQ_ERR_INVAL) {
    error_ = "invalid connection options (" + endpoint_.host + ":" +
             std::to_string(endpoint_.port) + ")";
    return false;
  }
  attempt_started_ms_ = now_ms;
  poll_at_ms_ = now_ms + kConnectingPollMs;
  connecting_ = true;
  if (rc != MOSQ_ERR_SUCCESS) {
    Lost(now_ms,
         rc == MOSQ_ERR_ERRNO ? std::generic_category().message(err) : mosquitto_strerror(rc));
  }
  return true;
}

void PooledMqtt::Connect(uint64_t now_ms) {
  Unwatch();  // reconnect_async closes the old socket; its number may come back
  reconnect_at_ms_ = 0;
  attempt_started_ms_ = now_ms;
  poll_at_ms_ = now_ms + kConnectingPollMs;
  connecting_ = true;
  lost_in_callback_ = false;
  const auto [rc, err] = ConnectTakingTurnsUntilTlsIsSetUp(
      endpoint_.tls, [this] { return mosquitto_reconnect_async(mosq_); });
  if (rc != MOSQ_ERR_SUCCESS) {
    Lost(now_ms,
         rc == MOSQ_ERR_ERRNO ? std::generic_category().message(err) : mosquitto_strerror(rc));
  }
}

void PooledMqtt::OnReady(uint32_t epoll_events, uint64_t now_ms) {
  if (mosq_ == nullptr || mosquitto_socket(mosq_) < 0 || (!connecting_ && !connected_)) return;
  if (!connected_ && (epoll_events & (EPOLLERR | EPOLLHUP)) != 0) {
    // Refused or reset before CONNACK (libmosquitto would take a refused TLS
    // connection for "try again" and spin).
    Lost(now_ms, SocketError(mosquitto_socket(mosq_)));
    return;
  }
  int rc = MOSQ_ERR_SUCCESS;
  int err = 0;
  // Before CONNACK a TLS handshake may wait on either direction; loop_read
  // is what drives it.
  if ((epoll_events & (EPOLLIN | EPOLLERR | EPOLLHUP)) != 0 || connecting_) {
    errno = 0;
    rc = mosquitto_loop_read(mosq_, 1);
    err = errno;
  }
  if (rc == MOSQ_ERR_SUCCESS && mosquitto_socket(mosq_) >= 0 &&
      ((epoll_events & EPOLLOUT) != 0 || connecting_)) {
    errno = 0;
    rc = mosquitto_loop_write(mosq_, 1);
    err = errno;
  }
  if (rc != MOSQ_ERR_SUCCESS) {
    Lost(now_ms, rc == MOSQ_ERR_ERRNO ? std::generic_category().message(err)
                                      : std::string(mosquitto_strerror(rc)));
  } else if (lost_in_callback_) {
    Lost(now_ms, error_.empty() ? "the connection was closed" : error_);
  }
}

void PooledMqtt::OnTime(uint64_t now_ms) {
  if (mosq_ == nullptr) return;
  if (reconnect_at_ms_ != 0 && now_ms >= reconnect_at_ms_) Connect(now_ms);
  if (connecting_ && !connected_) {
    if (now_ms - attempt_started_ms_ > kConnectTimeoutMs) {
      Lost(now_ms, "no CONNACK within " + std::to_string(kConnectTimeoutMs) + " ms");
    } else if (now_ms >= poll_at_ms_) {
      poll_at_ms_ = now_ms + kConnectingPollMs;
      OnReady(0, now_ms);
    }
  }
  if (connected_ && now_ms >= misc_at_ms_) {
    misc_at_ms_ = now_ms + kMiscIntervalMs;
    const int rc = mosquitto_loop_misc(mosq_);
    if (rc != MOSQ_ERR_SUCCESS || lost_in_callback_) Lost(now_ms, "keep-alive: no answer");
  }
}

uint64_t PooledMqtt::next_time_ms() const {
  uint64_t next = UINT64_MAX;
  if (reconnect_at_ms_ != 0) next = reconnect_at_ms_;
  if (connecting_ && !connected_) {
    next = std::min({next, poll_at_ms_, attempt_started_ms_ + kConnectTimeoutMs + 1});
  }
  if (connected_) next = std::min(next, misc_at_ms_);
  return next;
}

void PooledMqtt::SyncWatch() {
  const int fd = mosq_ == nullptr ? -1 : mosquitto_socket(mosq_);
  if (fd < 0 || (!connecting_ && !connected_)) {
    Unwatch();
    return;
  }
  uint32_t want = EPOLLIN;
  if (mosquitto_want_write(mosq_)) want |= EPOLLOUT;
  if (fd != watched_fd_) {
    Unwatch();
    epoll_event e{want, {.u64 = tag_}};
    if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &e) != 0 && errno == EEXIST) {
      epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd, &e);
    }
  } else if (want != watched_events_) {
    epoll_event e{want, {.u64 = tag_}};
    epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd, &e);
  }
  watched_fd_ = fd;
  watched_events_ = want;
}

// Only a socket this connection still holds is taken out of the set: one
// libmosquitto closed left it by itself, and its number may already be
// another device's.
void PooledMqtt::Unwatch() {
  if (watched_fd_ >= 0 && mosq_ != nullptr && mosquitto_socket(mosq_) == watched_fd_) {
    epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, watched_fd_, nullptr);
  }
  watched_fd_ = -1;
  watched_events_ = 0;
}

void PooledMqtt::Lost(uint64_t now_ms, const std::string& why) {
  Unwatch();
  if (connected_) new_disconnection_ = true;
  connected_ = false;
  connecting_ = false;
  lost_in_callback_ = false;
  error_ = why;
  // Back-off: min x 2^(failures-1), capped, with jitter in [d/2, d] so that
  // a fleet cut off at once does not come back in step.
  ++failures_;
  const uint64_t full = std::min(kBackoffMaxMs, kBackoffMinMs << std::clamp(failures_ - 1, 0, 10));
  jitter_state_ ^= jitter_state_ << 13;
  jitter_state_ ^= jitter_state_ >> 7;
  jitter_state_ ^= jitter_state_ << 17;
  reconnect_at_ms_ = now_ms + full / 2 + jitter_state_ % (full / 2 + 1);
}

bool PooledMqtt::TakeConnected() { return std::exchange(new_connection_, false); }
bool PooledMqtt::TakeDisconnected() { return std::exchange(new_disconnection_, false); }

void PooledMqtt::OnConnect(mosquitto*, void* self_ptr, int rc) {
  auto& self = *static_cast<PooledMqtt*>(self_ptr);
  if (rc != 0) {
    self.error_ =
        std::string("the broker refused the connection (") + mosquitto_connack_string(rc) + ")";
    return;
  }
  self.connected_ = true;
  self.connecting_ = false;
  self.failures_ = 0;
  self.new_connection_ = true;
  self.error_.clear();
  if (!self.endpoint_.status_topic.empty()) {
    self.Publish(self.endpoint_.status_topic,
                 {reinterpret_cast<const uint8_t*>(agent::kStatusOnline.data()),
                  agent::kStatusOnline.size()},
                 /*retain=*/true);
  }
}

void PooledMqtt::OnDisconnect(mosquitto*, void* self_ptr, int) {
  static_cast<PooledMqtt*>(self_ptr)->lost_in_callback_ = true;
}

void PooledMqtt::OnMessage(mosquitto*, void* self_ptr, const mosquitto_message* m) {
  if (m == nullptr || m->topic == nullptr) return;
  const auto* bytes = static_cast<const uint8_t*>(m->payload);
  static_cast<PooledMqtt*>(self_ptr)->inbox_.push_back(
      {m->topic, std::vector<uint8_t>(bytes, bytes + std::max(m->payloadlen, 0))});
}

bool PooledMqtt::Subscribe(std::string_view topic) {
  if (!connected_) return false;
  return mosquitto_subscribe(mosq_, nullptr, std::string(topic).c_str(), 1) == MOSQ_ERR_SUCCESS;
}

bool PooledMqtt::Unsubscribe(std::string_view topic) {
  if (!connected_) return false;
  return mosquitto_unsubscribe(mosq_, nullptr, std::string(topic).c_str()) == MOSQ_ERR_SUCCESS;
}

bool PooledMqtt::Publish(std::string_view topic, std::span<const uint8_t> payload, bool retain) {
  if (!connected_ || payload.size() > static_cast<size_t>(INT_MAX)) return false;
  return mosquitto_publish(mosq_, nullptr, std::string(topic).c_str(),
                           static_cast<int>(payload.size()), payload.data(), 1,
                           retain) == MOSQ_ERR_SUCCESS;
}

void PooledMqtt::Drop() {
  if (mosq_ != nullptr && mosquitto_socket(mosq_) >= 0)
    shutdown(mosquitto_socket(mosq_), SHUT_RDWR);
}

}  // namespace mqota::sim
