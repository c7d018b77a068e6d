#include "mqota/server/server.h"

#include <nlohmann/json.hpp>
#include <utility>
#include <variant>

#include "mqota/server/chunks.h"
#include "mqota/server/topics.h"

namespace mqota::server {
namespace {

using Clock = std::chrono::steady_clock;

FleetOptions WithPrefix(FleetOptions options, const std::string& prefix) {
  options.prefix = prefix;
  return options;
}

std::span<const uint8_t> AsBytes(std::string_view text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

// "60.2 s": to a tenth, since tests wait fractions of a second.
std::string SecondsText(Clock::duration duration) {
  const auto tenths = std::chrono::duration_cast<std::chrono::milliseconds>(duration).count() / 100;
  return std::to_string(tenths / 10) + "." + std::to_string(tenths % 10) + " s";
}

}  // namespace

std::string FlowTopic(std::string_view prefix, std::string_view client_id) {
  return std::string(prefix) + "/mqota-server/" + std::string(client_id) + "/flow";
}

Server::Server(ServerConfig config, std::shared_ptr<const Catalog> catalog,
               fleet::Registry& registry, Logger& log)
    : config_(std::move(config)),
      catalog_(std::move(catalog)),
      fleet_(registry, log, WithPrefix(config_.fleet, config_.handler.prefix), &metrics_),
      log_(log),
      flow_topic_(FlowTopic(config_.handler.prefix, config_.mqtt.client_id)),
      offers_(config_.max_offers, config_.offer_ttl),
      queue_(config_.queue_capacity),
      scheduler_(
          config_.streams, flow_topic_,
          [this](std::string_view topic, std::span<const uint8_t> payload) {
            if (!Publish(topic, payload)) return false;
            if (topic != flow_topic_) metrics_.CountChunk(payload.size());  // else a marker
            return true;
          },
          [this](uint64_t id) { queue_.PushPump(id); }, log) {
  probe_ = scheduler_.Marker(0, 0);  // stream ids start at 1: no stream sends this
  config_.handler.flow_topic = flow_topic_;
  if (config_.announce && config_.share_group.empty()) {
    // A server that dies takes its announcement with it: devices go back to
    // the shared request topic, where a reference publisher may listen. Not
    // one of a group: the others still serve the devices' own topics.
    config_.mqtt.will = posix::MqttWill{AnnounceTopic(config_.handler.prefix), "", true};
  }
}

Server::~Server() { Stop(std::chrono::milliseconds(0)); }

bool Server::Publish(std::string_view topic, std::span<const uint8_t> payload) {
  if (client_->Publish(topic, payload)) return true;
  log_.Debug(Printable(topic) + ": publish refused: " + client_->error());
  return false;
}

void Server::Start(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  const std::string where = config_.mqtt.host + ":" + std::to_string(config_.mqtt.port);
  try {
    fleet_.SyncCatalog(*CurrentCatalog(), WallClockMs());
  } catch (const fleet::RegistryError& e) {
    throw ServerError(std::string("cannot record the catalog in the registry: ") + e.what());
  }
  client_ = std::make_unique<posix::MqttClient>(config_.mqtt);
  client_->OnMessage([this](const posix::MqttMessage& m) { OnMessage(m); });
  client_->OnConnection([this](bool connected) { OnConnection(connected); });
  if (!client_->Start())
    throw ServerError("cannot use the broker " + where + ": " + client_->error());
  if (!client_->WaitConnected(timeout)) {
    throw ServerError("cannot connect to the broker at " + where + ": " + client_->error());
  }
  for (int i = 0; i < config_.workers; ++i) workers_.emplace_back([this] { WorkerLoop(); });
  housekeeper_ = std::thread([this] { HousekeepingLoop(); });
  // The subscriptions are sent from OnConnection; the broker handles one
  // connection's packets in order, so the probe coming back on the flow
  // topic (subscribed last) proves both are active.
  accepting_ = true;
  if (!RoundTrip(deadline)) {
    throw ServerError(
        "the broker at " + where +
        " did not confirm the subscriptions (is the server allowed to "
        "subscribe to " +
        SharedSubscription(config_.share_group, RequestSubscription(config_.handler.prefix)) +
        ", " +
        SharedSubscription(config_.share_group, DeviceRequestSubscription(config_.handler.prefix)) +
        " and " + flow_topic_ + "?)");
  }
}

bool Server::RoundTrip(Clock::time_point deadline) {
  probe_seen_ = false;
  while (!probe_seen_) {
    if (Clock::now() >= deadline) return false;
    if (client_->connected()) Publish(flow_topic_, AsBytes(probe_));
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return true;
}

// docs/spec/mqota-protocol.md#device-topics; a group's instances all publish
// the same one, so it does not change as they come and go.
std::string Server::Announcement() const {
  nlohmann::json a = {{"Message", "mqota-server"}, {"Version", "1"}};
  if (!config_.share_group.empty()) a["Group"] = config_.share_group;
  return a.dump();
}

void Server::Announce() {
  if (!config_.announce) return;
  const std::string announcement = Announcement();
  if (!client_->Publish(AnnounceTopic(config_.handler.prefix), AsBytes(announcement), 1,
                        /*retain=*/true)) {
    log_.Warn("could not publish the announcement: " + client_->error() +
              "; devices use the shared request topic");
  }
}

void Server::WithdrawAnnouncement() {
  // One of a group stops: the others still serve, so the announcement stays
  // (an operator who retires the whole group clears it: docs/scale-out.md).
  if (!config_.share_group.empty()) return;
  if (!config_.announce || !client_ || !client_->connected()) return;
  client_->Publish(AnnounceTopic(config_.handler.prefix), {}, 1, /*retain=*/true);
  if (!RoundTrip(Clock::now() + std::chrono::seconds(1))) {
    log_.Warn("stopping: the broker did not confirm the announcement's withdrawal");
  }
}

void Server::OnConnection(bool connected) {
  if (closing_) return;  // client_ is being destroyed
  if (!connected) {
    log_.Warn("lost the broker connection; reconnecting");
    return;
  }
  // Shared by a group's instances: each request, and each change of
  // presence, is handled by one of them (the registry is common). Retained
  // statuses still come to every instance when it subscribes (mosquitto
  // sends them on a shared subscription too); a known, unchanged one writes
  // nothing. The flow topic is this instance's own, never shared.
  const std::string& group = config_.share_group;
  const std::string request_topics =
      SharedSubscription(group, RequestSubscription(config_.handler.prefix));
  // Every (re)connection: a clean session has forgotten the subscriptions.
  client_->Subscribe(request_topics);
  client_->Subscribe(SharedSubscription(group, DeviceRequestSubscription(config_.handler.prefix)));
  client_->Subscribe(SharedSubscription(group, DeviceStatusSubscription(config_.handler.prefix)));
  client_->Subscribe(flow_topic_);
  // After the subscriptions: a device that switches to its own topic at once
  // is heard.
  Announce();
  if (ever_connected_.exchange(true)) {
    log_.Info("reconnected to the broker; resuming streams");
    scheduler_.ResumeAll();
  } else {
    log_.Debug("connected; subscribing to " + request_topics + " and " + flow_topic_);
  }
}

void Server::OnMessage(const posix::MqttMessage& message) {
  if (message.topic == flow_topic_) {
    const std::string_view text(reinterpret_cast<const char*>(message.payload.data()),
                                message.payload.size());
    if (text == probe_) {
      probe_seen_ = true;
    } else if (!scheduler_.OnFlowMarker(message.payload)) {
      log_.Warn(flow_topic_ + ": not a flow marker of this server; ignored");
    }
    return;
  }
  if (!accepting_) return;
  // Refused here as well as in HandleRequest so that a flood of big payloads
  // costs no copies.
  if (message.payload.size() > kMaxRequestBytes) {
    log_.Warn(Printable(message.topic) + ": oversized payload (" +
              std::to_string(message.payload.size()) + " bytes); ignored");
    return;
  }
  IncomingMessage copy{
      std::string(message.topic), {message.payload.begin(), message.payload.end()}, WallClockMs()};
  if (!queue_.PushMessage(std::move(copy))) {
    log_.Warn(Printable(message.topic) + ": all workers busy and the request queue full (" +
              std::to_string(config_.queue_capacity) + "); dropped a request");
  }
}

void Server::WorkerLoop() {
  std::vector<uint8_t> scratch;  // this worker's chunk buffer, reused for every chunk
  scratch.reserve(agent::kChunkHeaderBytes + kChunkDataBytes);
  while (auto item = queue_.Pop()) {
    try {
      if (const auto* id = std::get_if<StreamId>(&*item)) {
        scheduler_.Pump(*id, scratch);
      } else {
        Handle(std::get<IncomingMessage>(*item));
      }
    } catch (const std::exception& e) {
      // Nothing a device sends should get here; if it does, that one message
      // is lost, not the server.
      log_.Error(std::string("internal error while serving a request: ") + e.what());
    }
  }
}

std::shared_ptr<const Catalog> Server::CurrentCatalog() const {
  std::lock_guard lock(catalog_mutex_);
  return catalog_;
}

void Server::ReplaceCatalog(std::shared_ptr<const Catalog> catalog) {
  // The registry first: a campaign may name a new image once it is served.
  try {
    fleet_.SyncCatalog(*catalog, WallClockMs());
  } catch (const fleet::RegistryError& e) {
    throw ServerError(std::string("catalog refused by the registry: ") + e.what());
  }
  std::lock_guard lock(catalog_mutex_);
  catalog_ = std::move(catalog);
}

// docs/spec/mqota-protocol.md#presence: {"Online": true|false}, retained; an
// empty payload clears it and says nothing.
void Server::HandleStatus(const RequestOrigin& origin, const IncomingMessage& message) {
  if (message.payload.empty()) return;
  const auto j = nlohmann::json::parse(message.payload.begin(), message.payload.end(), nullptr,
                                       /*allow_exceptions=*/false);
  const auto online = j.is_object() ? j.find("Online") : j.end();
  if (!j.is_object() || online == j.end() || !online->is_boolean()) {
    log_.Warn(Printable(message.topic) + ": not a presence message; ignored");
    return;
  }
  fleet_.RecordPresence(std::string(origin.device), online->get<bool>(),
                        message.received_ms != 0 ? message.received_ms : WallClockMs());
}

void Server::Handle(const IncomingMessage& message) {
  if (const auto origin = OriginOfStatusTopic(config_.handler.prefix, message.topic)) {
    return HandleStatus(*origin, message);
  }
  const auto now = Clock::now();
  const OfferLookup offered = [&](std::string_view topic) { return offers_.Find(topic, now); };
  const RefusedLookup refused = [&](std::string_view device, const image::ImageVersion& v) {
    return fleet_.Barred(device, v);
  };
  const std::shared_ptr<const Catalog> catalog = CurrentCatalog();
  // When it arrived, not now: a message that waited in the queue (behind a
  // slow registry write, say) must not look newer than what the device said
  // after it, which another instance may have recorded meanwhile.
  const fleet::TimeMs wall = message.received_ms != 0 ? message.received_ms : WallClockMs();
  ChooseImage choose;
  if (!config_.offer_newest) {
    choose = [&](const Asker& asker) { return fleet_.Choose(asker, *catalog, wall); };
  }
  const Response r = HandleRequest(message.topic, message.payload, *catalog, offered,
                                   config_.handler, refused, choose);
  log_.Write(r.level, r.log);
  metrics_.CountRequest(r.message);
  if (!fleet_.RecordReport(r, wall)) return;  // a claim: no "Result Received" either
  if (r.report) metrics_.CountOutcome(r.report->outcome, r.report->reason);
  if (r.forget_offer) offers_.Forget(r.device_topic);
  if (r.remember_offer) {
    offers_.Remember(r.device_topic, r.remember_offer, now, r.awaits_follow_up);
  }
  fleet_.RecordOffer(r, wall);
  for (const auto& p : r.publish) {
    if (!Publish(p.topic, p.payload)) {
      log_.Warn(Printable(p.topic) + ": could not publish the answer: " + client_->error());
    } else if (r.message == MessageKind::kRequestDataChunk) {
      metrics_.CountChunk(p.payload.size());  // a single chunk, answered at once
    }
  }
  if (r.stream && !scheduler_.Start(r.device_topic, r.stream)) {
    log_.Warn(Printable(r.device_topic) + ": too many streams waiting; request dropped");
  }
  // After the answer is out: the device need not wait for the disk.
  fleet_.RecordAnswer(r, wall);
}

std::string Server::RenderMetrics(fleet::Registry& registry) {
  const auto stats = scheduler_.stats();
  const Metrics::Live live{stats.active, stats.waiting, fleet_.pending_events()};
  const auto started = Clock::now();
  std::optional<fleet::FleetCounts> counts;
  try {
    counts = registry.Counts();
  } catch (const fleet::RegistryError& e) {
    log_.Warn(std::string("metrics: the registry could not be read: ") + e.what());
  }
  const double read_seconds = std::chrono::duration<double>(Clock::now() - started).count();
  return metrics_.Render(counts ? &*counts : nullptr, live, read_seconds);
}

void Server::WakeFleet() {
  {
    std::lock_guard lock(stop_mutex_);
    fleet_wake_ = true;
  }
  stop_cv_.notify_all();
}

void Server::HousekeepingLoop() {
  std::unique_lock lock(stop_mutex_);
  auto next_fleet_tick = Clock::now();
  while (!stopping_) {
    stop_cv_.wait_for(lock, std::chrono::milliseconds(250),
                      [this] { return stopping_ || fleet_wake_; });
    const bool woken = std::exchange(fleet_wake_, false);
    lock.unlock();
    const auto now = Clock::now();
    scheduler_.Tick(now);
    WarnUnfollowedOffers(now);
    if (woken || now >= next_fleet_tick) {
      next_fleet_tick = now + std::chrono::seconds(1);
      for (const Publication& nudge : fleet_.Tick(WallClockMs())) {
        Publish(nudge.topic, nudge.payload);
      }
    }
    lock.lock();
  }
}

// The device asked, was sent a job, and went silent. A device that took
// the job asks for the data at once (mqota's agent) or after erasing its
// slot (the reference device); one that cannot read its topic never saw the
// job, and mosquitto does not say so: its ACL drops the message silently.
void Server::WarnUnfollowedOffers(Clock::time_point now) {
  if (config_.offer_quiet.count() <= 0) return;
  for (const auto& offer : offers_.TakeUnfollowed(config_.offer_quiet, now)) {
    log_.Warn(Printable(offer.topic) + ": offered " + offer.entry->board + " " +
              offer.entry->ProtocolVersion() + " " + SecondsText(offer.age) +
              " ago and the device never asked again: did the answer reach it? (a broker ACL "
              "that does not let the device read this topic drops it silently; see mqota "
              "broker-config --reference-devices)");
  }
}

void Server::Stop(std::chrono::milliseconds grace) {
  if (stopped_) return;
  stopped_ = true;
  accepting_ = false;
  if (!workers_.empty() && !scheduler_.WaitIdle(Clock::now() + grace)) {
    log_.Warn("stopping: abandoned " + std::to_string(scheduler_.AbandonAll()) +
              " unfinished streams");
  }
  scheduler_.AbandonAll();
  queue_.Close();
  for (auto& worker : workers_) worker.join();
  workers_.clear();
  {
    std::lock_guard lock(stop_mutex_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  if (housekeeper_.joinable()) housekeeper_.join();
  WithdrawAnnouncement();
  closing_ = true;
  client_.reset();  // disconnects and stops the network thread
}

}  // namespace mqota::server
