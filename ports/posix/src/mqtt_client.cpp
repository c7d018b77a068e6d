// MqttClient on libmosquitto 2.0 (Debian 12: 2.0.11).
//
// Two deliberate departures from the usual libmosquitto recipe, both for
// defects of 2.0.11 reproduced on this machine:
// * The network loop is our own thread around mosquitto_loop() and
//   mosquitto_reconnect_async(), not mosquitto_loop_start(). The library's
//   loop_forever() returns for good when a TLS connection is lost (SSL_read
//   leaves errno = EPROTO, which it treats as fatal), so after a broker
//   restart a TLS client never came back. Our loop reconnects after every
//   failure, with its own back-off that Stop can interrupt, and gives up an
//   attempt that gets no CONNACK in time: every wait is bounded.
// * TLS is set up in an OpenSSL SSL_CTX handed over with MOSQ_OPT_SSL_CTX
//   (without libmosquitto's defaults), not with mosquitto_tls_set():
//   tls_version there is only a minimum (no way to pin TLS 1.2), and in
//   2.0.11 a custom SSL_CTX combined with the defaults makes every server
//   certificate fail verification (mosquitto issue #2463). The SSL_CTX
//   verifies the chain against the CA and the broker's IP or DNS name
//   (OpenSSL's X509_VERIFY_PARAM check, the equivalent of
//   mosquitto_tls_insecure_set(false)), and loads the client certificate.
#include "mqota/ports/posix/mqtt_client.h"

#include <arpa/inet.h>
#include <mosquitto.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <optional>
#include <random>
#include <system_error>
#include <thread>
#include <utility>

#include "broker_addresses.h"
#include "publish_flow.h"

namespace mqota::posix {
namespace {

using Clock = std::chrono::steady_clock;

// How long one mosquitto_loop() call may sleep in select(): the longest the
// loop goes without checking the connect timeout. Publishes and Stop wake it
// earlier through libmosquitto's socket pair.
constexpr int kLoopTimeoutMs = 1000;
// At Stop, how long the loop may take to send DISCONNECT.
constexpr auto kDisconnectFlushTime = std::chrono::milliseconds(500);

std::once_flag g_library_once;

std::string ErrnoText(int err) { return std::generic_category().message(err); }

// "OpenSSL Error[0]: error:0A000086:SSL routines::certificate verify failed"
// -> "certificate verify failed".
std::string OpensslReason(std::string_view line) {
  const size_t colons = line.rfind("::");
  return std::string(colons == std::string_view::npos ? line : line.substr(colons + 2));
}

std::string PopOpensslErrors() {
  std::string out;
  while (const unsigned long code = ERR_get_error()) {
    char text[256];
    ERR_error_string_n(code, text, sizeof text);
    if (!out.empty()) out += "; ";
    out += OpensslReason(text);
  }
  return out.empty() ? "unknown OpenSSL error" : out;
}

struct SslCtxFree {
  void operator()(SSL_CTX* ctx) const { SSL_CTX_free(ctx); }
};
using SslCtxPtr = std::unique_ptr<SSL_CTX, SslCtxFree>;

// While an attempt waits for its CONNACK: true when its TCP connection has
// failed (refused, reset), with the socket error in `err`. libmosquitto 2.0.11
// misses this under TLS: SSL_connect's SSL_ERROR_SYSCALL only means "retry"
// to it, so a refused connection would wait for the connect timeout while
// select() spins on the dead socket.
bool TcpAttemptFailed(int fd, int& err) {
  if (fd < 0) return false;
  sockaddr_storage peer{};
  socklen_t length = sizeof peer;
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &length) == 0) return false;  // up
  pollfd p{fd, POLLOUT, 0};
  if (poll(&p, 1, 0) != 1 || (p.revents & (POLLERR | POLLHUP)) == 0) return false;  // pending
  err = 0;
  length = sizeof err;
  getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &length);
  if (err == 0) err = ECONNREFUSED;  // the error was read already; refused is what loopback does
  return true;
}

bool IsIpAddress(const std::string& host) {
  in_addr v4{};
  in6_addr v6{};
  return inet_pton(AF_INET, host.c_str(), &v4) == 1 || inet_pton(AF_INET6, host.c_str(), &v6) == 1;
}

}  // namespace

struct MqttClient::Impl {
  explicit Impl(MqttOptions o)
      : options(std::move(o)),
        endpoint(options.host + ":" + std::to_string(options.port)),
        flow(options.max_unacked_bytes) {}
  ~Impl();

  // libmosquitto and OpenSSL callbacks; `self` is the Impl.
  static void OnConnect(mosquitto* mosq, void* self, int rc);
  static void OnDisconnect(mosquitto* mosq, void* self, int rc);
  static void OnMessage(mosquitto* mosq, void* self, const mosquitto_message* message);
  static void OnPublish(mosquitto* mosq, void* self, int mid);
  static void OnLog(mosquitto* mosq, void* self, int level, const char* text);
  static int OnVerify(int preverify_ok, X509_STORE_CTX* store);

  SslCtxPtr MakeTlsContext();
  void Run(bool connect_first);
  bool WaitBackoff();
  void ConnectionFailed(int rc, int err, const std::string& why = {});
  void MarkDisconnected();
  void NoteDetail(std::string text);
  void SetError(std::string text);
  bool stopping_now() const {
    std::lock_guard lock(mutex);
    return stopping;
  }
  bool connected_now() const {
    std::lock_guard lock(mutex);
    return connected;
  }

  const MqttOptions options;
  const std::string endpoint;                // "host:port", for messages
  std::optional<BrokerAddresses> addresses;  // resolved by Start()
  MessageHandler message_handler;
  ConnectionHandler connection_handler;
  mosquitto* mosq = nullptr;
  SslCtxPtr tls;
  PublishFlow flow;
  std::thread loop;
  std::atomic<std::thread::id> loop_id{};  // the loop's thread, once it runs

  mutable std::mutex mutex;
  std::condition_variable changed;  // connected or stopping changed
  bool stopping = false;
  bool connected = false;
  bool announced = false;    // connected, and the connection handler has run
  bool established = false;  // the current attempt got its CONNACK (for the error's wording)
  bool nodelay = false;
  std::string tls_protocol;
  std::string error;
  // What went wrong in the current attempt (certificate, TLS alert, CONNACK):
  // the first cause is kept, it is the precise one.
  std::string detail;
  int failures = 0;               // rounds of attempts failed in a row: the back-off exponent
  bool next_address_now = false;  // the last attempt failed and another address is left
  std::minstd_rand jitter{std::random_device{}()};
};

MqttClient::Impl::~Impl() {
  if (loop.joinable()) {
    // A clean DISCONNECT makes the broker drop the will: say it ourselves.
    // Queued before `stopping` is set: the loop thread queues its DISCONNECT
    // once it sees `stopping`, and a DISCONNECT queued first would close the
    // connection with the will still unsent.
    if (options.will && options.will_on_stop && connected_now()) {
      const MqttWill& will = *options.will;
      mosquitto_publish(mosq, nullptr, will.topic.c_str(), static_cast<int>(will.payload.size()),
                        will.payload.data(), 1, will.retain);
    }
    {
      std::lock_guard lock(mutex);
      stopping = true;
    }
    changed.notify_all();        // ends a back-off wait
    mosquitto_disconnect(mosq);  // queues DISCONNECT and wakes the loop's select()
    loop.join();
  }
  if (mosq != nullptr) mosquitto_destroy(mosq);
}

void MqttClient::Impl::SetError(std::string text) {
  std::lock_guard lock(mutex);
  error = std::move(text);
}

void MqttClient::Impl::NoteDetail(std::string text) {
  std::lock_guard lock(mutex);
  if (detail.empty()) detail = std::move(text);
}

SslCtxPtr MqttClient::Impl::MakeTlsContext() {
  const MqttTls& t = options.tls;
  ERR_clear_error();
  SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
  if (!ctx) {
    SetError("cannot create a TLS context: " + PopOpensslErrors());
    return nullptr;
  }
  int version = 0;
  if (t.version == "tlsv1.2") {
    version = TLS1_2_VERSION;
  } else if (t.version == "tlsv1.3") {
    version = TLS1_3_VERSION;
  } else if (!t.version.empty()) {
    SetError("unknown TLS version \"" + t.version + "\" (use \"tlsv1.2\" or \"tlsv1.3\")");
    return nullptr;
  }
  SSL_CTX_set_min_proto_version(ctx.get(), version != 0 ? version : TLS1_2_VERSION);
  if (version != 0) SSL_CTX_set_max_proto_version(ctx.get(), version);
  SSL_CTX_set_options(ctx.get(), SSL_OP_NO_COMPRESSION);

  if (t.ca_file.empty()) {
    SetError("TLS needs the CA certificate that signed the broker's (tls.ca_file)");
    return nullptr;
  }
  if (SSL_CTX_load_verify_locations(ctx.get(), t.ca_file.c_str(), nullptr) != 1) {
    SetError("cannot load the CA certificate \"" + t.ca_file + "\": " + PopOpensslErrors());
    return nullptr;
  }
  if (t.cert_file.empty() != t.key_file.empty()) {
    SetError("a client certificate needs both tls.cert_file and tls.key_file");
    return nullptr;
  }
  if (!t.cert_file.empty()) {
    if (SSL_CTX_use_certificate_chain_file(ctx.get(), t.cert_file.c_str()) != 1) {
      SetError("cannot load the client certificate \"" + t.cert_file + "\": " + PopOpensslErrors());
      return nullptr;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx.get(), t.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
      SetError("cannot load the client key \"" + t.key_file + "\": " + PopOpensslErrors());
      return nullptr;
    }
    if (SSL_CTX_check_private_key(ctx.get()) != 1) {
      SetError("the client key \"" + t.key_file + "\" does not belong to the certificate \"" +
               t.cert_file + "\"");
      return nullptr;
    }
  }
  // The broker must present a chain to our CA, issued for the name or
  // address we connect to.
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, &Impl::OnVerify);
  X509_VERIFY_PARAM* param = SSL_CTX_get0_param(ctx.get());
  bool name_set = false;
  if (IsIpAddress(options.host)) {
    name_set = X509_VERIFY_PARAM_set1_ip_asc(param, options.host.c_str()) == 1;
  } else {
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    name_set = X509_VERIFY_PARAM_set1_host(param, options.host.c_str(), 0) == 1;
  }
  if (!name_set) {
    SetError("cannot check the broker's certificate against \"" + options.host +
             "\": " + PopOpensslErrors());
    return nullptr;
  }
  SSL_CTX_set_app_data(ctx.get(), this);
  return ctx;
}

int MqttClient::Impl::OnVerify(int preverify_ok, X509_STORE_CTX* store) {
  if (preverify_ok == 1) return 1;
  auto* ssl =
      static_cast<SSL*>(X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
  auto* self = ssl ? static_cast<Impl*>(SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl))) : nullptr;
  if (self != nullptr) {
    self->NoteDetail("the broker's certificate was refused (" +
                     std::string(X509_verify_cert_error_string(X509_STORE_CTX_get_error(store))) +
                     ")");
  }
  return 0;
}

void MqttClient::Impl::OnConnect(mosquitto* mosq, void* self_ptr, int rc) {
  auto& self = *static_cast<Impl*>(self_ptr);
  if (rc != 0) {
    self.NoteDetail(std::string("the broker refused the connection (") +
                    mosquitto_connack_string(rc) + ")");
    return;
  }
  int nodelay = 0;
  socklen_t length = sizeof nodelay;
  const bool nodelay_on =
      getsockopt(mosquitto_socket(mosq), IPPROTO_TCP, TCP_NODELAY, &nodelay, &length) == 0 &&
      nodelay != 0;
  auto* ssl = static_cast<SSL*>(mosquitto_ssl_get(mosq));
  {
    std::lock_guard lock(self.mutex);
    self.connected = true;
    self.established = true;
    self.failures = 0;
    self.nodelay = nodelay_on;
    self.tls_protocol = ssl ? SSL_get_version(ssl) : "";
  }
  if (self.options.birth) {
    const MqttWill& birth = *self.options.birth;
    int mid = 0;
    const int birth_rc =
        mosquitto_publish(mosq, &mid, birth.topic.c_str(), static_cast<int>(birth.payload.size()),
                          birth.payload.data(), 1, birth.retain);
    // Counted like any publish (its acknowledgement comes on this thread,
    // after this callback returns).
    if (birth_rc == MOSQ_ERR_SUCCESS)
      self.flow.Sent(mid, birth.topic.size() + birth.payload.size());
    if (birth_rc != MOSQ_ERR_SUCCESS) {
      self.SetError("cannot publish the birth message on \"" + birth.topic +
                    "\": " + mosquitto_strerror(birth_rc));
    }
  }
  if (self.connection_handler && !self.stopping_now()) {
    try {
      self.connection_handler(true);
    } catch (const std::exception& e) {
      self.SetError(std::string("the connection handler threw: ") + e.what());
    }
  }
  // WaitConnected returns only now, so that what the handler queued (its
  // subscriptions) comes before what the waiting thread sends next.
  {
    std::lock_guard lock(self.mutex);
    self.announced = self.connected;
  }
  self.changed.notify_all();
}

void MqttClient::Impl::OnDisconnect(mosquitto*, void* self_ptr, int) {
  static_cast<Impl*>(self_ptr)->MarkDisconnected();
}

void MqttClient::Impl::MarkDisconnected() {
  bool was_connected = false;
  bool quiet = false;
  {
    std::lock_guard lock(mutex);
    was_connected = connected;
    quiet = stopping;
    connected = false;
    announced = false;
    nodelay = false;
    tls_protocol.clear();
  }
  changed.notify_all();
  if (was_connected && !quiet && connection_handler) {
    try {
      connection_handler(false);
    } catch (const std::exception& e) {
      SetError(std::string("the connection handler threw: ") + e.what());
    }
  }
}

void MqttClient::Impl::OnPublish(mosquitto*, void* self_ptr, int mid) {
  static_cast<Impl*>(self_ptr)->flow.Acknowledged(mid);
}

void MqttClient::Impl::OnMessage(mosquitto*, void* self_ptr, const mosquitto_message* message) {
  auto& self = *static_cast<Impl*>(self_ptr);
  if (!self.message_handler || message == nullptr || message->topic == nullptr) return;
  if (self.stopping_now()) return;  // no handler calls from the destructor
  const MqttMessage m{message->topic,
                      {static_cast<const uint8_t*>(message->payload),
                       static_cast<size_t>(std::max(message->payloadlen, 0))}};
  try {
    self.message_handler(m);
  } catch (const std::exception& e) {
    self.SetError(std::string("the message handler threw: ") + e.what());
  }
}

void MqttClient::Impl::OnLog(mosquitto*, void* self_ptr, int level, const char* text) {
  if ((level & MOSQ_LOG_ERR) == 0 || text == nullptr) return;
  const std::string_view line(text);
  auto& self = *static_cast<Impl*>(self_ptr);
  if (line.starts_with("OpenSSL Error")) {
    self.NoteDetail("TLS failed (" + OpensslReason(line) + ")");
  } else {
    self.NoteDetail(std::string(line));
  }
}

void MqttClient::Impl::ConnectionFailed(int rc, int err, const std::string& why) {
  std::string cause = why;
  if (cause.empty()) {
    cause = rc == MOSQ_ERR_ERRNO ? ErrnoText(err) : std::string(mosquitto_strerror(rc));
  }
  {
    std::lock_guard lock(mutex);
    if (!detail.empty()) {
      cause = detail;
    } else if (tls && rc == MOSQ_ERR_ERRNO && (err == EPROTO || err == ECONNRESET)) {
      // EPROTO is libmosquitto's errno for any TLS failure. Without an
      // OpenSSL reason the broker closed or reset the connection: before
      // CONNACK, its alert about our certificate was likely lost in a reset.
      cause = established ? "the TLS connection was closed"
                          : "the broker closed the TLS connection before CONNACK (did it "
                            "refuse the client certificate?)";
    }
    const std::string tried = established ? "" : addresses->Tried();
    error = (established ? "lost the connection to " : "cannot connect to ") + endpoint +
            (tried.empty() ? "" : " (tried " + tried + ")") + ": " + cause;
    detail.clear();
    // A lost connection starts again from the first address; a failed
    // attempt goes on to the next one at once, and backs off only when all
    // of them have failed.
    if (established) addresses->Restart();
    next_address_now = !established && addresses->Advance();
    if (!next_address_now) ++failures;
    established = false;
  }
  MarkDisconnected();
}

// Back-off before the next attempt: min * 2^(failures-1), capped at max, with
// jitter in [d/2, d] so that a fleet does not reconnect in step.
bool MqttClient::Impl::WaitBackoff() {
  std::unique_lock lock(mutex);
  if (std::exchange(next_address_now, false)) return !stopping;
  const int exponent = std::clamp(failures - 1, 0, 16);
  const auto full =
      std::min(options.reconnect_delay_max, options.reconnect_delay_min * (1 << exponent));
  const auto half = full / 2;
  std::uniform_int_distribution<int64_t> pick(half.count(), std::max(half.count(), full.count()));
  const std::chrono::milliseconds delay(pick(jitter));
  return !changed.wait_for(lock, delay, [this] { return stopping; });
}

void MqttClient::Impl::Run(bool connect_first) {
  loop_id = std::this_thread::get_id();
  bool need_connect = connect_first;
  Clock::time_point attempt_start = Clock::now();
  while (!stopping_now()) {
    if (need_connect) {
      if (!WaitBackoff()) break;
      {
        std::lock_guard lock(mutex);
        detail.clear();
      }
      errno = 0;
      const int rc = mosquitto_connect_async(mosq, addresses->current().c_str(), options.port,
                                             options.keepalive_seconds);
      const int err = errno;
      attempt_start = Clock::now();
      if (rc != MOSQ_ERR_SUCCESS) {
        ConnectionFailed(rc, err);
        continue;
      }
      need_connect = false;
    }
    errno = 0;
    const int rc = mosquitto_loop(mosq, kLoopTimeoutMs, 1);
    const int err = errno;
    if (rc != MOSQ_ERR_SUCCESS) {
      if (stopping_now()) break;
      ConnectionFailed(rc, err);
      need_connect = true;
      continue;
    }
    bool is_connected = false;
    {
      std::lock_guard lock(mutex);
      is_connected = connected;
    }
    if (is_connected) continue;
    if (int tcp_error = 0; TcpAttemptFailed(mosquitto_socket(mosq), tcp_error)) {
      ConnectionFailed(MOSQ_ERR_ERRNO, tcp_error);
      need_connect = true;
    } else if (Clock::now() - attempt_start > options.connect_timeout) {
      ConnectionFailed(
          MOSQ_ERR_SUCCESS, 0,
          "no CONNACK within " + std::to_string(options.connect_timeout.count()) + " ms");
      need_connect = true;
    }
  }
  // Stopping: send DISCONNECT if connected, for a bounded time (libmosquitto
  // closes the socket once it is written).
  bool was_connected = false;
  {
    std::lock_guard lock(mutex);
    was_connected = connected;
  }
  mosquitto_disconnect(mosq);
  const auto deadline = Clock::now() + kDisconnectFlushTime;
  while (was_connected && Clock::now() < deadline && mosquitto_socket(mosq) != -1 &&
         mosquitto_loop(mosq, 50, 1) == MOSQ_ERR_SUCCESS) {
  }
  MarkDisconnected();
}

MqttClient::MqttClient(MqttOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}

MqttClient::~MqttClient() = default;

void MqttClient::OnMessage(MessageHandler handler) { impl_->message_handler = std::move(handler); }

void MqttClient::OnConnection(ConnectionHandler handler) {
  impl_->connection_handler = std::move(handler);
}

bool MqttClient::Start() {
  Impl& s = *impl_;
  if (s.mosq != nullptr) {
    s.SetError("Start() was already called");
    return false;
  }
  std::call_once(g_library_once, [] { mosquitto_lib_init(); });

  std::string id = s.options.client_id;
  if (id.empty()) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::random_device device;
    id = "mqota-";
    for (int i = 0; i < 12; ++i) id += kHex[device() & 0xf];
  }
  s.mosq = mosquitto_new(id.c_str(), /*clean_session=*/true, &s);
  if (s.mosq == nullptr) {
    s.SetError("mosquitto_new failed: " + ErrnoText(errno));
    return false;
  }
  mosquitto_int_option(s.mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
  mosquitto_int_option(s.mosq, MOSQ_OPT_TCP_NODELAY, 1);
  if (s.options.max_inflight_messages > 0) {
    mosquitto_max_inflight_messages_set(s.mosq,
                                        static_cast<unsigned>(s.options.max_inflight_messages));
  }
  if (s.options.will) {
    const MqttWill& will = *s.options.will;
    if (mosquitto_will_set(s.mosq, will.topic.c_str(), static_cast<int>(will.payload.size()),
                           will.payload.data(), 1, will.retain) != MOSQ_ERR_SUCCESS) {
      s.SetError("invalid will topic \"" + will.topic + "\"");
      return false;
    }
  }
  mosquitto_connect_callback_set(s.mosq, &Impl::OnConnect);
  mosquitto_disconnect_callback_set(s.mosq, &Impl::OnDisconnect);
  mosquitto_message_callback_set(s.mosq, &Impl::OnMessage);
  mosquitto_publish_callback_set(s.mosq, &Impl::OnPublish);
  mosquitto_log_callback_set(s.mosq, &Impl::OnLog);
  if (s.options.tls_enabled) {
    s.tls = s.MakeTlsContext();
    if (!s.tls) return false;
    mosquitto_void_option(s.mosq, MOSQ_OPT_SSL_CTX, s.tls.get());
    mosquitto_int_option(s.mosq, MOSQ_OPT_SSL_CTX_WITH_DEFAULTS, 0);
  }
  // Other threads may call Subscribe/Publish while our loop runs.
  mosquitto_threaded_set(s.mosq, true);

  s.addresses.emplace(s.options.host);
  errno = 0;
  const int rc = mosquitto_connect_async(s.mosq, s.addresses->current().c_str(), s.options.port,
                                         s.options.keepalive_seconds);
  const int err = errno;
  if (rc == MOSQ_ERR_INVAL) {
    s.SetError("invalid connection options (host \"" + s.options.host + "\", port " +
               std::to_string(s.options.port) + ", keep-alive " +
               std::to_string(s.options.keepalive_seconds) + " s)");
    return false;
  }
  // Any other failure (refused, unreachable, TLS) is a failed attempt: the
  // loop retries it.
  if (rc != MOSQ_ERR_SUCCESS) s.ConnectionFailed(rc, err);
  s.loop = std::thread([&s, retry = rc != MOSQ_ERR_SUCCESS] { s.Run(retry); });
  return true;
}

bool MqttClient::WaitConnected(std::chrono::milliseconds timeout) {
  std::unique_lock lock(impl_->mutex);
  return impl_->changed.wait_for(lock, timeout, [this] { return impl_->announced; });
}

bool MqttClient::connected() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->connected;
}

bool MqttClient::Subscribe(std::string_view topic, int qos) {
  if (impl_->mosq == nullptr) return false;
  const std::string t(topic);
  const int rc = mosquitto_subscribe(impl_->mosq, nullptr, t.c_str(), qos);
  if (rc != MOSQ_ERR_SUCCESS) {
    impl_->SetError("cannot subscribe to \"" + t + "\": " + mosquitto_strerror(rc));
  }
  return rc == MOSQ_ERR_SUCCESS;
}

bool MqttClient::Unsubscribe(std::string_view topic) {
  if (impl_->mosq == nullptr) return false;
  const std::string t(topic);
  const int rc = mosquitto_unsubscribe(impl_->mosq, nullptr, t.c_str());
  if (rc != MOSQ_ERR_SUCCESS) {
    impl_->SetError("cannot unsubscribe from \"" + t + "\": " + mosquitto_strerror(rc));
  }
  return rc == MOSQ_ERR_SUCCESS;
}

bool MqttClient::Publish(std::string_view topic, std::span<const uint8_t> payload, int qos,
                         bool retain) {
  if (impl_->mosq == nullptr) return false;
  const std::string t(topic);
  if (payload.size() > static_cast<size_t>(INT_MAX)) {
    impl_->SetError("cannot publish on \"" + t + "\": payload too large");
    return false;
  }
  const size_t bytes = t.size() + payload.size();
  // The loop thread takes the acknowledgements: it must not wait for them.
  if (std::this_thread::get_id() != impl_->loop_id.load() &&
      !impl_->flow.WaitForRoom(bytes, impl_->options.publish_wait)) {
    impl_->SetError("cannot publish on \"" + t + "\": the broker has not acknowledged " +
                    std::to_string(impl_->flow.unacked_bytes()) + " bytes for " +
                    std::to_string(impl_->options.publish_wait.count()) + " ms");
    return false;
  }
  int mid = 0;
  const int rc = mosquitto_publish(impl_->mosq, &mid, t.c_str(), static_cast<int>(payload.size()),
                                   payload.data(), qos, retain);
  if (rc != MOSQ_ERR_SUCCESS) {
    impl_->SetError("cannot publish on \"" + t + "\": " + mosquitto_strerror(rc));
    return false;
  }
  impl_->flow.Sent(mid, bytes);
  return true;
}

std::string MqttClient::error() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->error;
}

std::string MqttClient::tls_version() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->tls_protocol;
}

bool MqttClient::tcp_nodelay() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->nodelay;
}

}  // namespace mqota::posix
