// A registry for the server's tests: the real one, failing every call while
// `failing` is set (a disk that is full for a while), with RecordAll counted
// and slowed at will.
#pragma once

#include <atomic>
#include <chrono>
#include <thread>

#include "mqota/fleet/registry.h"

namespace mqota::server::testing {

class FlakyRegistry final : public fleet::Registry {
 public:
  explicit FlakyRegistry(fleet::Registry& real) : real_(real) {}
  std::atomic<bool> failing{false};
  // RecordAll: how often it was called, and how long each call takes on top
  // of the real one (a slow disk).
  std::atomic<int> record_all_calls{0};
  std::chrono::milliseconds record_all_delay{0};

  std::vector<fleet::RecordOutcome> RecordAll(std::span<const fleet::DeviceEvent> e) override {
    if (failing) throw fleet::RegistryError("database or disk is full");
    ++record_all_calls;
    std::this_thread::sleep_for(record_all_delay);
    return real_.RecordAll(e);
  }

#define MQOTA_FORWARD(ret, name, params, args)                           \
  ret name params override {                                             \
    if (failing) throw fleet::RegistryError("database or disk is full"); \
    return real_.name args;                                              \
  }
  MQOTA_FORWARD(void, SeeDevice, (const fleet::DeviceSighting& s), (s))
  MQOTA_FORWARD(void, SetOnline, (const std::string& d, bool o, fleet::TimeMs t), (d, o, t))
  MQOTA_FORWARD(void, SetTags, (const std::string& d, const std::vector<std::string>& t), (d, t))
  MQOTA_FORWARD(std::optional<fleet::Device>, FindDevice, (const std::string& d), (d))
  MQOTA_FORWARD(std::vector<fleet::Device>, ListDevices, (const fleet::DeviceFilter& f), (f))
  MQOTA_FORWARD(std::vector<fleet::DeviceEvent>, History, (const std::string& d, uint32_t n),
                (d, n))
  MQOTA_FORWARD(bool, Barred, (const std::string& d, const std::string& v), (d, v))
  MQOTA_FORWARD(fleet::RecordedEvent, Record, (const fleet::DeviceEvent& e), (e))
  MQOTA_FORWARD(int64_t, AddImage, (const fleet::Image& i), (i))
  MQOTA_FORWARD(std::vector<fleet::Image>, ListImages, (), ())
  MQOTA_FORWARD(std::optional<fleet::Image>, FindImage, (int64_t id), (id))
  MQOTA_FORWARD(int64_t, CreateCampaign, (const fleet::NewCampaign& c), (c))
  MQOTA_FORWARD(std::vector<fleet::Campaign>, ListCampaigns, (), ())
  MQOTA_FORWARD(std::optional<fleet::Campaign>, FindCampaign, (int64_t id), (id))
  MQOTA_FORWARD(std::vector<fleet::CampaignLogEntry>, CampaignLog, (int64_t id), (id))
  MQOTA_FORWARD(std::vector<fleet::CampaignDevice>, CampaignDevices, (int64_t id), (id))
  MQOTA_FORWARD(fleet::CampaignState, LoadState, (int64_t id, fleet::TimeMs t), (id, t))
  MQOTA_FORWARD(void, ApplyStep, (int64_t id, const fleet::Step& s, fleet::TimeMs t), (id, s, t))
  MQOTA_FORWARD(std::vector<fleet::Step>, Advance, (int64_t id, fleet::TimeMs t), (id, t))
  MQOTA_FORWARD(fleet::Campaign, Control,
                (int64_t id, Command c, const std::string& who, fleet::TimeMs t), (id, c, who, t))
  MQOTA_FORWARD(std::vector<int64_t>, RunningCampaigns, (), ())
  MQOTA_FORWARD(std::optional<fleet::DeviceCampaign>, CampaignOf,
                (const std::string& d, fleet::TimeMs t), (d, t))
  MQOTA_FORWARD(std::vector<std::string>, DevicesToNotify, (int64_t c, uint32_t n), (c, n))
  MQOTA_FORWARD(std::vector<fleet::WaveProgress>, CampaignProgress, (int64_t c), (c))
  MQOTA_FORWARD(fleet::FleetCounts, Counts, (), ())
  MQOTA_FORWARD(fleet::VersionHistory, VersionsOver, (std::span<const fleet::TimeMs> t), (t))
#undef MQOTA_FORWARD

 private:
  fleet::Registry& real_;
};

}  // namespace mqota::server::testing
