// mqota-server at run time: one MQTT connection, a fixed pool of workers and
// one housekeeping thread, serving every device of every board in the catalog.
//
//   MQTT network thread ──► OnMessage: flow markers go to the scheduler; requests
//                           are copied into the bounded WorkQueue (never handled
//                           on this thread, which must keep reading)
//   workers (N)         ──► HandleRequest (pure) → publish replies, remember
//                           offers, start streams; pump streams batch by batch
//   housekeeping        ──► stalled streams continue (StreamScheduler::Tick);
//                           offers whose device never asked again are logged
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "mqota/fleet/registry.h"
#include "mqota/ports/posix/mqtt_client.h"
#include "mqota/server/catalog.h"
#include "mqota/server/fleet_service.h"
#include "mqota/server/log.h"
#include "mqota/server/metrics.h"
#include "mqota/server/offer_book.h"
#include "mqota/server/request_handler.h"
#include "mqota/server/stream_scheduler.h"
#include "mqota/server/topics.h"
#include "mqota/server/work_queue.h"

namespace mqota::server {

struct ServerConfig {
  posix::MqttOptions mqtt;  // client_id must be set: it names the flow topic
  HandlerConfig handler;    // handler.flow_topic is filled in by the server
  StreamLimits streams;
  int workers = 4;
  // Request messages waiting for a worker. A fleet's devices each keep a
  // window of chunk requests in flight (8): 2048 devices' worth, about 3 MB
  // of typical requests (at most 4 KiB each). The fleet benchmark lost
  // requests at the old 256 with 100 devices.
  size_t queue_capacity = 16384;
  size_t max_offers = 100000;
  std::chrono::seconds offer_ttl{3600};
  // Announce the server (retained) so that mqota devices use their own
  // request topics (docs/spec/mqota-protocol.md#device-topics).
  bool announce = true;
  // One of several instances (docs/scale-out.md): the device request and
  // status topics are subscribed as $share/<share_group>/..., so each
  // message is handled by one instance, and the announcement names the group
  // and is neither withdrawn at a stop nor cleared by a will (the other
  // instances still serve). "": the only server.
  std::string share_group;
  // Offer every device the newest image of its board it has not refused, as
  // the reference publisher does, instead of only what a running campaign
  // gives it (docs/spec/fleet-campaigns.md#offers): for reference devices,
  // whose topics name no device.
  bool offer_newest = false;
  FleetOptions fleet;  // fleet.prefix is set from handler.prefix
  // One warning when a device answered with a job asks nothing more on its
  // topic for this long: a broker drops what a device may not read without
  // telling anyone, and this is the only trace it leaves. The reference
  // device erases its whole secondary slot before it asks for the data
  // (docs/spec/reference-protocol.md#job-flow), hence a minute. 0: never.
  std::chrono::milliseconds offer_quiet{60000};
};

// "<prefix>/mqota-server/<client id>/flow": where the server's flow markers
// travel (a broker ACL must let the server read and write it).
std::string FlowTopic(std::string_view prefix, std::string_view client_id);

class Server {
 public:
  // `registry` outlives the server.
  Server(ServerConfig config, std::shared_ptr<const Catalog> catalog, fleet::Registry& registry,
         Logger& log);
  ~Server();  // Stop(0) if still running
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Connects, subscribes and returns once a probe through the broker proves
  // the subscriptions are active. Throws ServerError (one line) when the
  // broker cannot be reached or does not answer within `timeout`.
  void Start(std::chrono::milliseconds timeout);
  // Takes no new requests, gives running and waiting streams `grace` to
  // finish, abandons the rest, stops the threads and disconnects.
  void Stop(std::chrono::milliseconds grace);

  StreamScheduler::Stats stream_stats() const { return scheduler_.stats(); }
  // Serves `catalog` from now on (a request being handled finishes with the
  // old one, which lives as long as it is in use). Throws ServerError, and
  // keeps the old catalog, when the registry refuses an image (another
  // image under a version it knows).
  void ReplaceCatalog(std::shared_ptr<const Catalog> catalog);
  FleetService& fleet() { return fleet_; }
  // The counters (docs/spec/metrics.md); the HTTP listener adds its own.
  Metrics& metrics() { return metrics_; }
  // /metrics' text: the counters, what is live in memory, and the
  // registry's counts read now (docs/spec/metrics.md#cost).
  std::string RenderMetrics(fleet::Registry& registry);
  // Runs the fleet's tick now (a campaign was created or resumed): its
  // devices are nudged within moments, not at the next second.
  void WakeFleet();
  const std::string& flow_topic() const { return flow_topic_; }
  // The announcement this server publishes (retained) on AnnounceTopic.
  std::string Announcement() const;

 private:
  void OnMessage(const posix::MqttMessage& message);  // network thread
  void HandleStatus(const RequestOrigin& origin, const IncomingMessage& message);
  void OnConnection(bool connected);  // network thread
  void WorkerLoop();
  void HousekeepingLoop();
  void WarnUnfollowedOffers(std::chrono::steady_clock::time_point now);
  void Handle(const IncomingMessage& message);
  bool Publish(std::string_view topic, std::span<const uint8_t> payload);
  void Announce();
  void WithdrawAnnouncement();
  // Publishes the probe and waits until it comes back through the broker,
  // which then has handled everything published before it.
  bool RoundTrip(std::chrono::steady_clock::time_point deadline);

  ServerConfig config_;
  std::shared_ptr<const Catalog> CurrentCatalog() const;
  mutable std::mutex catalog_mutex_;
  std::shared_ptr<const Catalog> catalog_;  // guarded by catalog_mutex_
  Metrics metrics_;                         // before fleet_, which writes through it
  FleetService fleet_;
  Logger& log_;
  const std::string flow_topic_;
  std::string probe_;  // a marker no stream sends: the readiness probe

  OfferBook offers_;
  WorkQueue queue_;
  StreamScheduler scheduler_;

  std::atomic<bool> accepting_{false};
  std::atomic<bool> probe_seen_{false};
  std::atomic<bool> ever_connected_{false};
  std::atomic<bool> closing_{false};
  std::vector<std::thread> workers_;
  std::thread housekeeper_;
  std::mutex stop_mutex_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;    // guarded by stop_mutex_
  bool fleet_wake_ = false;  // guarded by stop_mutex_
  bool stopped_ = false;
  // Last member: destroyed first, so no callback outlives what it uses.
  std::unique_ptr<posix::MqttClient> client_;
};

}  // namespace mqota::server
