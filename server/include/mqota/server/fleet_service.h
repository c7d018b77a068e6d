// The server's side of the fleet: what it asks the registry and the campaign
// engine when a device asks or reports, and what it does on its own clock.
//
//   a device asks        ──► Choose: its running campaign's image, if
//                            MayOffer says so (docs/spec/fleet-campaigns.md#offers)
//   a response is done   ──► Record: the device seen, the offer made, the report,
//                            each an event; a campaign whose tallies moved is
//                            evaluated (NextStep until nothing)
//   every second (Tick)  ──► campaigns evaluated (soak timers), devices of open
//                            waves nudged on their notify topic at a bounded rate,
//                            events the registry refused retried
//
// Events go to the registry through an EventWriter (group commit): a
// registry that fails at run time (disk full, I/O error) costs no event, the
// events wait in a bounded queue and are retried every tick, and the failure
// is logged once per outage. Thread-safe (workers call Choose and
// Record at once; the housekeeping thread calls Tick).
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "mqota/fleet/registry.h"
#include "mqota/server/catalog.h"
#include "mqota/server/event_writer.h"
#include "mqota/server/log.h"
#include "mqota/server/metrics.h"
#include "mqota/server/request_handler.h"

namespace mqota::server {

struct FleetOptions {
  std::string prefix = "mqota";
  // Devices nudged per second at most, over all campaigns: a wave of
  // thousands must not make them all ask in the same instant.
  uint32_t nudges_per_second = 200;
  // A device nudged that did not ask is nudged again after this long.
  std::chrono::milliseconds renudge_after{60000};
  // Events kept for a registry that refuses writes; beyond it the oldest is
  // dropped, and said so.
  size_t max_pending_events = 100000;
  // What one device may have recorded: `burst` messages at once, then
  // `per_second`. A real device sends a progress report every few seconds;
  // one that floods is logged (once a minute) and not recorded.
  double device_messages_per_second = 20;
  double device_message_burst = 100;
};

// Milliseconds since the Unix epoch: the registry's clock.
fleet::TimeMs WallClockMs();

class FleetService {
 public:
  // `metrics`, when given, observes the registry's writes.
  FleetService(fleet::Registry& registry, Logger& log, FleetOptions options,
               Metrics* metrics = nullptr);

  // Every image of the catalog is in the registry's catalog (a campaign
  // names one). Throws fleet::RegistryError.
  void SyncCatalog(const Catalog& catalog, fleet::TimeMs now);

  // The image for `asker` from its running campaign, or nothing and why.
  Choice Choose(const Asker& asker, const Catalog& catalog, fleet::TimeMs now);
  // Whether the device reported this version as reverted, rejected or refused.
  bool Barred(std::string_view device, const image::ImageVersion& version);

  // What a handled request tells the fleet, around its answer going out:
  // RecordReport and RecordOffer before (so "Result Received" means the
  // report is on disk, and a job document that its offer is: a server
  // killed at any moment loses neither; docs/scale-out.md#what-a-kill-costs),
  // RecordAnswer after (the sighting, and progress written: the device need
  // not wait for them). A report that repeats one already recorded (its
  // acknowledgement was lost) is acknowledged and not recorded again.
  // RecordReport returns false when the
  // report is a claim in the name of a device that has its own topic: not
  // recorded, and not to be acknowledged either, so that the device (if it
  // was the device) tells it again on its own topic.
  bool RecordReport(const Response& response, fleet::TimeMs now);
  void RecordOffer(const Response& response, fleet::TimeMs now);
  void RecordAnswer(const Response& response, fleet::TimeMs now);
  void Record(const Response& response, fleet::TimeMs now) {
    if (!RecordReport(response, now)) return;
    RecordOffer(response, now);
    RecordAnswer(response, now);
  }

  // A device's presence from its status topic (its birth message or its
  // will: docs/spec/mqota-protocol.md#presence); ignored for a device the
  // registry does not know yet.
  void RecordPresence(const std::string& device, bool online, fleet::TimeMs now);

  // The nudges to publish now.
  std::vector<Publication> Tick(fleet::TimeMs now);

  // Events waiting for the registry (after a failure, or a write under way).
  size_t pending_events() const;

 private:
  // Whether the device has spoken on its own topic before (then only that
  // topic speaks for it), and so a message on the shared topic is a claim.
  bool SpeaksForItself(const std::string& device);
  bool Claimed(const Response& response);
  // Files a device the registry does not know yet under its board.
  void KnowDevice(const Response& response, fleet::TimeMs now);
  // The device asked: its board, version and last sighting, and online.
  void Sighted(const DeviceSighting& sighting, fleet::TimeMs now);
  void FileIfUnknown(const DeviceSighting& sighting, fleet::TimeMs now);
  // The device's budget of recorded messages (a token bucket); false when spent.
  bool Admit(const std::string& device, fleet::TimeMs now);
  // True when the report repeats the device's newest word about that
  // version (its acknowledgement was lost): not to be recorded again. Logs
  // a report about a version the device was never offered.
  bool CheckReport(const fleet::DeviceEvent& event);
  void Evaluate(int64_t campaign, fleet::TimeMs now);
  void Nudge(int64_t campaign, uint32_t budget, fleet::TimeMs now, std::vector<Publication>& out);
  void RegistryFailed(const std::string& what, const std::exception& e);

  fleet::Registry& registry_;
  Logger& log_;
  const FleetOptions options_;
  EventWriter writer_;
  mutable std::mutex mutex_;  // the members below
  bool failing_ = false;      // a failure to read or run campaigns is logged
  // (campaign, device) -> when: a device nudged for one campaign is nudged
  // again for the next.
  std::map<std::pair<int64_t, std::string>, fleet::TimeMs> nudged_;
  struct Bucket {
    double tokens = 0;
    fleet::TimeMs refilled = 0;
    fleet::TimeMs warned = 0;
    uint64_t refused = 0;
  };
  std::map<std::string, Bucket> buckets_;  // device -> its budget
};

}  // namespace mqota::server
