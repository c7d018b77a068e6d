// A new campaign checked and its target resolved to devices in waves: the
// part of CreateCampaign that needs no storage, shared by every backend
// (docs/spec/fleet-registry.md#creating-a-campaign). A backend reads the
// candidates, asks PlanCampaign, and stores the plan in the transaction that
// inserted the campaign.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "mqota/fleet/campaign.h"
#include "mqota/fleet/model.h"
#include "mqota/fleet/registry.h"

namespace mqota::fleet {

// Longest campaign name accepted.
inline constexpr size_t kMaxCampaignName = 100;

// The target as stored: the board filled in from the image, the version
// canonical. Throws RegistryRefusal when the name, the rules or the board
// do not hold.
CampaignTarget CheckNewCampaign(const NewCampaign& campaign, const Image& image);

// One registered device of the target's board, as the backend read it.
struct TargetCandidate {
  std::string device;
  std::string version;  // as stored
  bool tagged = false;  // carries the target's tag (any device when it names none)
  bool barred = false;  // reverted, rejected or refused the image's version
};

struct PlacedDevice {
  std::string device;
  uint32_t position = 0;
  uint32_t wave = 0;
};

struct CampaignPlan {
  std::vector<PlacedDevice> devices;  // in the campaign's order
  std::vector<uint32_t> wave_ends;    // WaveEnds: one per wave
};

// FNV-1a (64 bits) of "<campaign>/<device>": the campaign's order. Stable
// across runs and backends, and different for each campaign, so the canaries
// are not always the same devices.
uint64_t CampaignOrderKey(int64_t campaign, std::string_view device);

// The targeted devices among `candidates` (the devices of target.board),
// ordered and placed in waves. Throws RegistryRefusal with a sentence when
// a listed device is not a candidate or nobody is targeted.
CampaignPlan PlanCampaign(int64_t campaign, const CampaignTarget& target, const Image& image,
                          const std::vector<WaveSize>& waves,
                          const std::vector<TargetCandidate>& candidates);

}  // namespace mqota::fleet
