#include "mqota/server/fleet_service.h"

#include <algorithm>
#include <array>

#include "mqota/agent/job.h"
#include "mqota/agent/protocol.h"
#include "mqota/fleet/campaign.h"
#include "mqota/image/version.h"
#include "mqota/server/topics.h"

namespace mqota::server {
namespace {

// As devices write it (agent::FormatProtocolVersion), which is how the
// registry stores it.
std::string VersionText(const image::ImageVersion& v) {
  std::array<char, agent::kProtocolVersionTextBytes> text{};
  return std::string(agent::FormatProtocolVersion(v, text));
}

std::vector<uint8_t> Bytes(std::string_view text) { return {text.begin(), text.end()}; }

// The catalog entry that is the campaign's image: same board, version and
// hash (a file replaced under the same version is not the image the
// campaign was created with).
EntryPtr FindEntry(const Catalog& catalog, const fleet::Image& image) {
  for (const EntryPtr& e : catalog.entries()) {
    if (e->board == image.board && e->ProtocolVersion() == image.version &&
        e->Sha256Hex() == image.sha256) {
      return e;
    }
  }
  return nullptr;
}

std::string CampaignName(int64_t id) { return "campaign " + std::to_string(id); }

}  // namespace

fleet::TimeMs WallClockMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

FleetService::FleetService(fleet::Registry& registry, Logger& log, FleetOptions options,
                           Metrics* metrics)
    : registry_(registry),
      log_(log),
      options_(std::move(options)),
      writer_(
          registry, log, options_.max_pending_events,
          [this](int64_t campaign, fleet::TimeMs now) { Evaluate(campaign, now); }, metrics) {}

void FleetService::SyncCatalog(const Catalog& catalog, fleet::TimeMs now) {
  for (const EntryPtr& e : catalog.entries()) {
    fleet::Image image;
    image.board = e->board;
    image.version = e->ProtocolVersion();
    image.sha256 = e->Sha256Hex();
    image.key_hash = e->key_hash;
    image.size = e->size_bytes();
    image.path = e->path;
    image.added = now;
    registry_.AddImage(image);
  }
}

Choice FleetService::Choose(const Asker& asker, const Catalog& catalog, fleet::TimeMs now) {
  if (asker.device.empty()) {
    return {nullptr,
            "it names no device: a reference device gets updates only from "
            "mqota-server --offer-newest",
            std::nullopt};
  }
  try {
    const std::string device(asker.device);
    if (!asker.verified) {
      const auto known = registry_.FindDevice(device);
      if (known && known->verified) {
        return {nullptr,
                "unverified: this device has its own request topic, and this came on the "
                "shared one",
                std::nullopt};
      }
    }
    const auto place = registry_.CampaignOf(device, now);
    if (!place) return {nullptr, "no running campaign targets it", std::nullopt};
    const std::string name = CampaignName(place->campaign);
    const fleet::OfferVerdict verdict = fleet::MayOffer(place->state, place->wave, place->stage);
    if (!verdict.offer) return {nullptr, name + ": " + verdict.why_not, std::nullopt};
    if (place->image.board != asker.board) {
      return {nullptr, name + " is for board " + place->image.board, std::nullopt};
    }
    EntryPtr entry = FindEntry(catalog, place->image);
    // A device that says it runs the image (or newer) is not offered it
    // again: its boot report is on its way (or was lost with a server that
    // died, and comes again), and a job it would refuse would only add an
    // offer after its confirmation. A data request states the version the
    // download started from, so it still finds the image.
    if (entry && asker.version != image::ImageVersion{} &&
        image::CompareVersions(asker.version, entry->version) >= 0) {
      return {nullptr, name + ": it already runs " + place->image.version, std::nullopt};
    }
    if (!entry) {
      return {nullptr,
              name + "'s image " + place->image.board + " " + place->image.version +
                  " is not in the catalog (removed, or replaced by another file)",
              std::nullopt};
    }
    return {entry, name + ", wave " + std::to_string(place->wave + 1), place->campaign};
  } catch (const fleet::RegistryError& e) {
    RegistryFailed("choosing an image for " + Printable(asker.device, 64), e);
    return {nullptr, "the registry is unavailable", std::nullopt};
  }
}

bool FleetService::Barred(std::string_view device, const image::ImageVersion& version) {
  try {
    return registry_.Barred(std::string(device), VersionText(version));
  } catch (const fleet::RegistryError& e) {
    RegistryFailed("reading what " + Printable(device, 64) + " refused", e);
    return true;  // offer nothing rather than something it may have refused
  }
}

// Anyone of the board can write the shared topic in a device's name; a
// device that has its own topic speaks only there.
bool FleetService::Claimed(const Response& r) {
  if (r.verified || !SpeaksForItself(r.device)) return false;
  log_.Warn(Printable(r.device, 64) +
            ": a message in its name on the shared request topic, but it has its own: "
            "not recorded");
  return true;
}

bool FleetService::Admit(const std::string& device, fleet::TimeMs now) {
  std::lock_guard lock(mutex_);
  const bool fresh = buckets_.count(device) == 0;
  Bucket& b = buckets_[device];
  if (fresh) {
    b.tokens = options_.device_message_burst;
    b.refilled = now;
  }
  b.tokens = std::min(options_.device_message_burst,
                      b.tokens + static_cast<double>(std::max<fleet::TimeMs>(0, now - b.refilled)) *
                                     options_.device_messages_per_second / 1000.0);
  b.refilled = now;
  if (b.tokens >= 1) {
    b.tokens -= 1;
    return true;
  }
  ++b.refused;
  if (now - b.warned >= 60000) {
    b.warned = now;
    log_.Warn(Printable(device, 64) + ": more than " +
              std::to_string(static_cast<int>(options_.device_messages_per_second)) +
              " messages a second (" + std::to_string(b.refused) +
              " so far not recorded): flooding, or a loop on the device");
  }
  return false;
}

bool FleetService::CheckReport(const fleet::DeviceEvent& event) {
  if (event.kind == fleet::EventKind::kDownloading || event.kind == fleet::EventKind::kOffered) {
    return false;
  }
  bool offered = false;
  bool latest = true;  // the newest event of this version that is not progress
  try {
    for (const auto& e : registry_.History(event.device, 200)) {
      if (e.version != event.version || e.kind == fleet::EventKind::kDownloading) continue;
      // Nothing happens twice to one version without a new offer between:
      // the same word again is the same report, sent again because its
      // "Result Received" never came (the server that recorded it died
      // before answering, or the answer was lost).
      if (latest && e.kind == event.kind) return true;
      latest = false;
      if (e.kind == fleet::EventKind::kOffered) {
        offered = true;
        break;
      }
    }
  } catch (const fleet::RegistryError&) {
    return false;  // said when it is written
  }
  if (!offered) {
    log_.Warn(Printable(event.device, 64) + ": reports \"" +
              std::string(fleet::EventKindName(event.kind)) + "\" for " + event.version +
              ", which it was never offered here (recorded as it said)");
  }
  return false;
}

bool FleetService::RecordReport(const Response& r, fleet::TimeMs now) {
  if (r.device.empty() || !r.report) return true;
  if (Claimed(r)) return false;
  if (!Admit(r.device, now)) return true;
  const auto kind = fleet::ParseEventKind(r.report->outcome);
  if (!kind) {
    log_.Warn(Printable(r.device, 64) + ": unknown outcome \"" + r.report->outcome +
              "\"; not recorded");
    return true;
  }
  fleet::DeviceEvent event;
  event.device = r.device;
  event.time = now;
  event.kind = *kind;
  event.version = VersionText(r.report->version);
  event.percent = r.report->percent;
  event.reason = r.report->reason;
  event.verified = r.report->verified;
  KnowDevice(r, now);
  if (CheckReport(event)) {
    log_.Info(Printable(r.device, 64) + ": repeats its \"" +
              std::string(fleet::EventKindName(event.kind)) + "\" for " + event.version +
              ", already recorded: acknowledged again, not recorded twice");
    return true;
  }
  // The check above reads before the write; the registry checks again
  // under the device's row lock, for a copy that another worker or instance
  // is writing at this moment.
  event.unless_repeated = event.kind != fleet::EventKind::kDownloading;
  // An answer that acknowledges the report ("Result Received") waits for it
  // to be on disk; a progress report has none and does not wait.
  writer_.Record(event, now,
                 r.publish.empty() ? EventWriter::Then::kWrite : EventWriter::Then::kWait);
  return true;
}

// A report can be a device's first word to this registry (a boot report
// opens a session; a new registry file): file the device under its board
// first, or the registry refuses the event and the report is lost.
void FleetService::KnowDevice(const Response& r, fleet::TimeMs now) {
  try {
    if (registry_.FindDevice(r.device)) return;
    fleet::DeviceSighting seen;
    seen.device = r.device;
    seen.board = r.report->board;
    seen.verified = r.verified;
    seen.time = now;
    registry_.SeeDevice(seen);
  } catch (const fleet::RegistryError&) {
    // Said, and kept for a retry, when the event itself is written next.
  }
}

// Before the answer goes out, so that what the device says once it has the
// answer (its progress, its result) is queued behind it: otherwise a report
// written by another worker first, in the same millisecond, would look older
// than the offer it answers.
void FleetService::RecordOffer(const Response& r, fleet::TimeMs now) {
  if (r.device.empty() || !r.remember_offer || !r.offer_sent || Claimed(r) ||
      !Admit(r.device, now)) {
    return;
  }
  // An offer to a device heard of for the first time (--offer-newest): file
  // it first, or the offer would be refused for want of a device.
  if (r.sighting) FileIfUnknown(*r.sighting, now);
  fleet::DeviceEvent offered;
  offered.device = r.device;
  offered.time = now;
  offered.kind = fleet::EventKind::kOffered;
  offered.version = r.remember_offer->ProtocolVersion();
  offered.campaign = r.campaign;
  offered.verified = r.verified;
  // On disk before the job goes out, as a report before its "Result
  // Received": a server killed in between has not told the device anything
  // (it asks again, and is offered again). A lost offer would undercount the
  // campaign's devices in flight, which another instance reads to decide.
  writer_.Record(offered, now, EventWriter::Then::kWait);
}

// After the answer: the device need not wait for the disk.
void FleetService::RecordAnswer(const Response& r, fleet::TimeMs now) {
  // A reference device names no device: nothing to file it under. An offer
  // was admitted (or not) by RecordOffer.
  if (!r.device.empty() && r.sighting && !Claimed(r) &&
      (r.remember_offer || Admit(r.device, now))) {
    Sighted(*r.sighting, now);
  }
  writer_.Flush(now);
}

void FleetService::Sighted(const DeviceSighting& sighting, fleet::TimeMs now) {
  fleet::DeviceSighting seen;
  seen.device = sighting.device;
  seen.board = sighting.board;
  seen.version = VersionText(sighting.version);
  seen.verified = sighting.verified;
  seen.image_hash = sighting.image_sha256;
  seen.time = now;
  try {
    registry_.SeeDevice(seen);
    // It just spoke: online (one read, and a write only when it changes).
    const auto known = registry_.FindDevice(seen.device);
    if (known && !known->online) registry_.SetOnline(seen.device, true, now);
  } catch (const fleet::RegistryError& e) {
    RegistryFailed("recording that " + Printable(seen.device, 64) + " asked", e);
  }
}

void FleetService::FileIfUnknown(const DeviceSighting& sighting, fleet::TimeMs now) {
  try {
    if (!registry_.FindDevice(sighting.device)) Sighted(sighting, now);
  } catch (const fleet::RegistryError& e) {
    RegistryFailed("reading " + Printable(sighting.device, 64), e);
  }
}

void FleetService::RecordPresence(const std::string& device, bool online, fleet::TimeMs now) {
  if (!Admit(device, now)) return;
  try {
    // Unknown: its first request files it with its version, online. Filing
    // it here would make a device without a version, which no campaign can
    // target yet. Known and unchanged: no write (the retained statuses come
    // again at every restart).
    const auto known = registry_.FindDevice(device);
    if (!known || known->online == online) return;
    registry_.SetOnline(device, online, now);
  } catch (const fleet::RegistryError& e) {
    RegistryFailed(
        "recording that " + Printable(device, 64) + " is " + (online ? "online" : "offline"), e);
  }
}

bool FleetService::SpeaksForItself(const std::string& device) {
  try {
    const auto known = registry_.FindDevice(device);
    return known && known->verified;
  } catch (const fleet::RegistryError& e) {
    RegistryFailed("reading " + Printable(device, 64), e);
    return true;  // unknown: do not take a claim for its word
  }
}

void FleetService::Evaluate(int64_t campaign, fleet::TimeMs now) {
  // One transaction from reading the tallies to the last step: two workers
  // that see one gate met open one wave, not two.
  for (const fleet::Step& step : registry_.Advance(campaign, now)) {
    log_.Write(step.kind == fleet::Step::kHalt ? LogLevel::kWarn : LogLevel::kInfo,
               CampaignName(campaign) + ": " + (step.kind == fleet::Step::kHalt ? "HALTED: " : "") +
                   step.reason);
  }
}

std::vector<Publication> FleetService::Tick(fleet::TimeMs now) {
  std::vector<Publication> nudges;
  writer_.Retry(now);
  try {
    uint32_t budget = options_.nudges_per_second;
    for (int64_t campaign : registry_.RunningCampaigns()) {
      Evaluate(campaign, now);
      const size_t before = nudges.size();
      if (budget > 0) Nudge(campaign, budget, now, nudges);
      // What this campaign used, not the running total: each later campaign
      // gets what is left of the second's budget.
      budget -= std::min<uint32_t>(budget, static_cast<uint32_t>(nudges.size() - before));
    }
    std::lock_guard lock(mutex_);
    failing_ = false;  // it answered: the next failure is news
  } catch (const fleet::RegistryError& e) {
    RegistryFailed("running the campaigns", e);
  }
  std::lock_guard lock(mutex_);
  std::erase_if(nudged_, [&](const auto& entry) {
    return now - entry.second >= options_.renudge_after.count();
  });
  // A bucket refilled to the brim is the same as none.
  std::erase_if(buckets_, [&](const auto& entry) {
    return (now - entry.second.refilled) * options_.device_messages_per_second / 1000.0 >=
           options_.device_message_burst;
  });
  return nudges;
}

// Devices of open waves not offered anything yet, as many as the budget,
// the in-flight cap and the start rate leave room for.
void FleetService::Nudge(int64_t campaign, uint32_t budget, fleet::TimeMs now,
                         std::vector<Publication>& out) {
  const fleet::CampaignState state = registry_.LoadState(campaign, now);
  if (state.status != fleet::CampaignStatus::kRunning) return;
  uint32_t room = budget;
  if (state.rules.max_in_flight > 0) {
    room = std::min(
        room, state.rules.max_in_flight - std::min(state.rules.max_in_flight, state.in_flight));
  }
  if (state.rules.starts_per_minute > 0) {
    room = std::min(room, state.rules.starts_per_minute -
                              std::min(state.rules.starts_per_minute, state.starts_last_minute));
  }
  if (room == 0) return;
  const auto info = registry_.FindCampaign(campaign);
  if (!info) return;
  // Ask for more than the room: some were nudged a moment ago.
  const auto devices = registry_.DevicesToNotify(campaign, room * 2 + 16);
  std::lock_guard lock(mutex_);
  const std::string nudge = "{\"Message\":\"" + std::string(agent::message::kCheckNow) + "\"}";
  for (const std::string& device : devices) {
    if (room == 0) break;
    if (!nudged_.try_emplace({campaign, device}, now).second) continue;
    out.push_back({NotifyTopic(options_.prefix, info->image.board, device), Bytes(nudge)});
    --room;
  }
}

void FleetService::RegistryFailed(const std::string& what, const std::exception& e) {
  std::lock_guard lock(mutex_);
  if (failing_) return;
  failing_ = true;
  log_.Error("registry: " + what + ": " + e.what());
}

size_t FleetService::pending_events() const { return writer_.waiting(); }

}  // namespace mqota::server
