// The device agent on a POSIX host: its Transport over an MqttClient, its
// Entropy from getrandom(2), and AgentRunner, the one thread that drives it.
//
// Agent is not thread-safe and MqttClient delivers messages on its network
// thread, so AgentRunner queues what arrives (a bounded queue) and hands it
// to the agent on its own thread, interleaved with the ticks the agent asks
// for, with now_ms from std::chrono::steady_clock. It calls OnConnected on
// every (re)connection, so the agent renews its subscription.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string_view>
#include <thread>

#include "mqota/agent/agent.h"
#include "mqota/ports/posix/mqtt_client.h"

namespace mqota::posix {

// Subscribe/Publish at QoS 1 on the client; false when libmosquitto did not
// take the request (e.g. not connected).
class MqttTransport final : public agent::Transport {
 public:
  explicit MqttTransport(MqttClient& client) : client_(client) {}
  bool Subscribe(std::string_view topic) override;
  bool Unsubscribe(std::string_view topic) override;
  bool Publish(std::string_view topic, std::span<const uint8_t> payload) override;

 private:
  MqttClient& client_;
};

// The kernel's CSPRNG. Throws std::system_error if getrandom(2) fails (it
// does not on Linux >= 3.17 once the pool is initialized).
class RandomEntropy final : public agent::Entropy {
 public:
  uint64_t Random64() override;
};

struct AgentRunnerOptions {
  // Messages waiting for the agent. When full, the network thread waits up to
  // `full_queue_wait` for room (back-pressure to the broker), then drops the
  // message (counted; the agent asks again for what it misses).
  size_t max_queued_messages = 64;
  std::chrono::milliseconds full_queue_wait{1000};
};

class AgentRunner {
 public:
  // Installs its handlers on `client` (so: before client.Start(), and the
  // client's handlers are the runner's). The agent must outlive the runner;
  // the client may be destroyed before or after it.
  AgentRunner(agent::Agent& agent, MqttClient& client, AgentRunnerOptions options = {});
  ~AgentRunner();  // Stop()
  AgentRunner(const AgentRunner&) = delete;
  AgentRunner& operator=(const AgentRunner&) = delete;

  // Starts the agent's thread. The agent's clock (its first tick) starts at
  // the first connection: a session begun offline would lose its request.
  void Start();
  // Ends the thread; messages arriving afterwards are dropped. Idempotent.
  void Stop();

  // Runs `call` on the agent's thread, in order with the messages (e.g.
  // CheckNow, Blocklist).
  void Post(std::function<void(agent::Agent&, uint64_t now_ms)> call);

  // The agent's status as of the last event handled.
  agent::AgentStatus status() const;
  // Waits until `done(status())` holds (true) or `timeout` passes (false).
  bool WaitFor(const std::function<bool(const agent::AgentStatus&)>& done,
               std::chrono::milliseconds timeout) const;
  // Messages dropped because the queue stayed full.
  uint64_t dropped_messages() const;

  // The runner's clock: std::chrono::steady_clock, in milliseconds.
  static uint64_t NowMs();

 private:
  struct Shared;
  void Pump();

  agent::Agent& agent_;
  std::shared_ptr<Shared> shared_;  // also held by the client's handlers
  std::thread thread_;
};

}  // namespace mqota::posix
