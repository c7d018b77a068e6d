#include "mqota/ports/posix/mqtt_transport.h"

#include <sys/random.h>

#include <cerrno>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <system_error>
#include <vector>

namespace mqota::posix {

bool MqttTransport::Subscribe(std::string_view topic) { return client_.Subscribe(topic, 1); }

bool MqttTransport::Unsubscribe(std::string_view topic) { return client_.Unsubscribe(topic); }

bool MqttTransport::Publish(std::string_view topic, std::span<const uint8_t> payload) {
  return client_.Publish(topic, payload, 1, false);
}

uint64_t RandomEntropy::Random64() {
  uint64_t value = 0;
  auto* bytes = reinterpret_cast<uint8_t*>(&value);
  size_t filled = 0;
  while (filled < sizeof value) {
    const ssize_t n = getrandom(bytes + filled, sizeof value - filled, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw std::system_error(errno, std::generic_category(), "getrandom");
    }
    filled += static_cast<size_t>(n);
  }
  return value;
}

namespace {

// Longest sleep of the agent's thread when the agent asks for no tick sooner.
constexpr std::chrono::milliseconds kMaxIdle{1000};

struct Event {
  enum class Kind : uint8_t { kMessage, kConnected, kCall };
  Kind kind;
  std::string topic;
  std::vector<uint8_t> payload;
  std::function<void(agent::Agent&, uint64_t)> call;
};

}  // namespace

// What the client's network thread and the agent's thread share.
struct AgentRunner::Shared {
  explicit Shared(const AgentRunnerOptions& o) : options(o) {}

  // Network thread: queue an event (messages wait for room, bounded).
  void Push(Event event) {
    std::unique_lock lock(mutex);
    if (stopped) return;
    if (event.kind == Event::Kind::kMessage) {
      const bool room = has_room.wait_for(lock, options.full_queue_wait, [this] {
        return stopped || queued_messages < options.max_queued_messages;
      });
      if (stopped) return;
      if (!room) {
        ++dropped;
        return;
      }
      ++queued_messages;
    }
    events.push_back(std::move(event));
    work.notify_one();
  }

  const AgentRunnerOptions options;
  mutable std::mutex mutex;
  std::condition_variable work;      // an event arrived, or stop
  std::condition_variable has_room;  // a message left the queue, or stop
  mutable std::condition_variable status_changed;
  std::deque<Event> events;
  size_t queued_messages = 0;
  uint64_t dropped = 0;
  bool stopped = false;
  agent::AgentStatus status;
};

AgentRunner::AgentRunner(agent::Agent& agent, MqttClient& client, AgentRunnerOptions options)
    : agent_(agent), shared_(std::make_shared<Shared>(options)) {
  shared_->status = agent_.status();
  // The handlers hold the shared state, not the runner: a client that
  // outlives the runner only finds it stopped.
  client.OnMessage([shared = shared_](const MqttMessage& m) {
    shared->Push({Event::Kind::kMessage,
                  std::string(m.topic),
                  std::vector<uint8_t>(m.payload.begin(), m.payload.end()),
                  {}});
  });
  client.OnConnection([shared = shared_](bool connected) {
    if (connected) shared->Push({Event::Kind::kConnected, {}, {}, {}});
  });
}

AgentRunner::~AgentRunner() { Stop(); }

void AgentRunner::Start() {
  if (!thread_.joinable()) thread_ = std::thread([this] { Pump(); });
}

void AgentRunner::Stop() {
  {
    std::lock_guard lock(shared_->mutex);
    shared_->stopped = true;
  }
  shared_->work.notify_all();
  shared_->has_room.notify_all();
  if (thread_.joinable()) thread_.join();
}

void AgentRunner::Post(std::function<void(agent::Agent&, uint64_t)> call) {
  shared_->Push({Event::Kind::kCall, {}, {}, std::move(call)});
}

agent::AgentStatus AgentRunner::status() const {
  std::lock_guard lock(shared_->mutex);
  return shared_->status;
}

bool AgentRunner::WaitFor(const std::function<bool(const agent::AgentStatus&)>& done,
                          std::chrono::milliseconds timeout) const {
  std::unique_lock lock(shared_->mutex);
  return shared_->status_changed.wait_for(lock, timeout, [&] { return done(shared_->status); });
}

uint64_t AgentRunner::dropped_messages() const {
  std::lock_guard lock(shared_->mutex);
  return shared_->dropped;
}

uint64_t AgentRunner::NowMs() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::steady_clock::now().time_since_epoch())
                                   .count());
}

void AgentRunner::Pump() {
  Shared& s = *shared_;
  bool ticking = false;  // from the first connection on
  for (;;) {
    Event event{Event::Kind::kCall, {}, {}, {}};
    bool have_event = false;
    {
      std::unique_lock lock(s.mutex);
      // Sleep until the agent's next deadline (or an event); a deadline
      // already past after a tick means it has nothing scheduled.
      const uint64_t now = NowMs();
      const uint64_t deadline = agent_.next_deadline_ms();
      const auto idle = ticking && deadline > now
                            ? std::min(std::chrono::milliseconds(deadline - now), kMaxIdle)
                            : kMaxIdle;
      s.work.wait_for(lock, idle, [&s] { return s.stopped || !s.events.empty(); });
      if (s.stopped) return;
      if (!s.events.empty()) {
        event = std::move(s.events.front());
        s.events.pop_front();
        have_event = true;
        if (event.kind == Event::Kind::kMessage) {
          --s.queued_messages;
          s.has_room.notify_one();
        }
      }
    }
    if (have_event) {
      const uint64_t now = NowMs();
      switch (event.kind) {
        case Event::Kind::kMessage: agent_.OnMessage(event.topic, event.payload, now); break;
        case Event::Kind::kConnected:
          ticking = true;
          agent_.OnConnected(now);
          break;
        case Event::Kind::kCall: event.call(agent_, now); break;
      }
    }
    if (ticking) agent_.OnTick(NowMs());
    {
      std::lock_guard lock(s.mutex);
      s.status = agent_.status();
    }
    s.status_changed.notify_all();
  }
}

}  // namespace mqota::posix
