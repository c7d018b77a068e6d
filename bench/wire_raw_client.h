// A raw libmosquitto client for the wire benchmark's baselines: the C API
// as its documentation shows it (mosquitto_loop_start, QoS 1), with
// TCP_NODELAY on, as MqttClient sets it, so the comparison is the code above
// the socket and not Nagle.
#pragma once

#include <mosquitto.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>

#include "wire_baseline.h"

namespace mqota::bench {

// One raw client: connects, subscribes to `subscription` (if any) and
// reports through the callbacks on libmosquitto's network thread.
class RawClient {
 public:
  RawClient(const std::string& id, const BaselineOptions& o, const std::string& cert,
            const std::string& key, std::string subscription)
      : subscription_(std::move(subscription)) {
    static const int init = mosquitto_lib_init();
    (void)init;
    mosq_ = mosquitto_new(id.c_str(), /*clean_session=*/true, this);
    mosquitto_int_option(mosq_, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
    mosquitto_int_option(mosq_, MOSQ_OPT_TCP_NODELAY, 1);
    if (o.tls != nullptr) {
      mosquitto_tls_set(mosq_, o.tls->ca_file.c_str(), nullptr, cert.c_str(), key.c_str(), nullptr);
      mosquitto_tls_opts_set(mosq_, /*SSL_VERIFY_PEER*/ 1, nullptr, nullptr);
    }
    mosquitto_connect_callback_set(mosq_, [](mosquitto* m, void* self, int rc) {
      auto* c = static_cast<RawClient*>(self);
      if (rc != 0 || c->subscription_.empty()) return c->Signal(rc == 0);
      mosquitto_subscribe(m, nullptr, c->subscription_.c_str(), 1);
    });
    mosquitto_subscribe_callback_set(mosq_, [](mosquitto*, void* self, int, int, const int*) {
      static_cast<RawClient*>(self)->Signal(true);
    });
    mosquitto_message_callback_set(mosq_, [](mosquitto*, void* self, const mosquitto_message* m) {
      auto* c = static_cast<RawClient*>(self);
      if (c->on_message) c->on_message(m);
    });
    rc_ = mosquitto_connect(mosq_, "127.0.0.1", o.port, 30);
    if (rc_ == MOSQ_ERR_SUCCESS) rc_ = mosquitto_loop_start(mosq_);
  }
  ~RawClient() {
    mosquitto_disconnect(mosq_);
    mosquitto_loop_stop(mosq_, false);
    mosquitto_destroy(mosq_);
  }
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;

  // Waits for CONNACK and, with a subscription, its SUBACK.
  bool WaitReady() {
    if (rc_ != MOSQ_ERR_SUCCESS) return false;
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, std::chrono::seconds(10), [this] { return ready_; }) && ok_;
  }
  void Publish(const std::string& topic, const void* data, size_t size) {
    mosquitto_publish(mosq_, nullptr, topic.c_str(), static_cast<int>(size), data, 1, false);
  }
  mosquitto* mosq() { return mosq_; }
  std::string error() const { return mosquitto_strerror(rc_); }

  // Runs on the network thread; set before any message can arrive.
  std::function<void(const mosquitto_message*)> on_message;

 private:
  void Signal(bool ok) {
    std::lock_guard lock(mutex_);
    ready_ = true;
    ok_ = ok;
    cv_.notify_all();
  }
  mosquitto* mosq_ = nullptr;
  int rc_ = MOSQ_ERR_SUCCESS;
  std::string subscription_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool ready_ = false, ok_ = false;
};

}  // namespace mqota::bench
