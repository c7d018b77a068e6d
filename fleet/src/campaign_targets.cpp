#include "campaign_targets.h"

#include <algorithm>
#include <set>
#include <utility>

#include "versions.h"

namespace mqota::fleet {

CampaignTarget CheckNewCampaign(const NewCampaign& campaign, const Image& image) {
  if (campaign.name.empty()) throw RegistryRefusal("a campaign needs a name");
  if (campaign.name.size() > kMaxCampaignName) {
    throw RegistryRefusal("a campaign name has at most " + std::to_string(kMaxCampaignName) +
                          " characters, not " + std::to_string(campaign.name.size()));
  }
  if (std::string rules = CheckRules(campaign.rules); !rules.empty()) {
    throw RegistryRefusal(rules);
  }
  CampaignTarget target = campaign.target;
  if (target.board.empty()) target.board = image.board;
  if (target.board != image.board) {
    throw RegistryRefusal("image " + std::to_string(image.id) + " is for board " + image.board +
                          ", not " + target.board);
  }
  if (!target.from_version.empty()) {
    const auto from = CanonicalVersion(target.from_version);
    if (!from) {
      throw RegistryRefusal("\"" + target.from_version +
                            "\" is not a version (major.minor.revision)");
    }
    if (!OlderVersion(*from, image.version)) {
      throw RegistryRefusal("devices running " + *from + " are not older than the image's " +
                            image.version + " (no downgrades)");
    }
    target.from_version = *from;
  }
  return target;
}

uint64_t CampaignOrderKey(int64_t campaign, std::string_view device) {
  constexpr uint64_t kOffsetBasis = 14695981039346656037ULL;
  constexpr uint64_t kPrime = 1099511628211ULL;
  uint64_t hash = kOffsetBasis;
  const std::string text = std::to_string(campaign) + "/" + std::string(device);
  for (const char c : text) {
    hash ^= static_cast<unsigned char>(c);
    hash *= kPrime;
  }
  return hash;
}

namespace {

// "no device of board B tagged "t" among the 3 listed runs a version older
// than 1.2.0": which narrowing left nobody.
std::string NobodySentence(const CampaignTarget& target, const Image& image, size_t barred) {
  std::string sentence = "no device of board " + target.board;
  if (!target.tag.empty()) sentence += " tagged \"" + target.tag + "\"";
  if (!target.devices.empty()) {
    sentence += " among the " + std::to_string(target.devices.size()) + " listed";
  }
  sentence += target.from_version.empty() ? " runs a version older than " + image.version
                                          : " runs " + target.from_version;
  if (barred > 0) {
    sentence += " without having barred " + image.version + " (" + std::to_string(barred) +
                " reverted, rejected or refused it)";
  }
  return sentence;
}

}  // namespace

CampaignPlan PlanCampaign(int64_t campaign, const CampaignTarget& target, const Image& image,
                          const std::vector<WaveSize>& waves,
                          const std::vector<TargetCandidate>& candidates) {
  std::set<std::string, std::less<>> listed(target.devices.begin(), target.devices.end());
  for (const std::string& device : listed) {
    const bool known = std::any_of(candidates.begin(), candidates.end(),
                                   [&](const TargetCandidate& c) { return c.device == device; });
    if (!known) {
      throw RegistryRefusal("\"" + device + "\" is not a registered device of board " +
                            target.board);
    }
  }
  std::vector<std::pair<uint64_t, std::string>> ordered;
  size_t barred = 0;
  for (const TargetCandidate& c : candidates) {
    if (!OlderVersion(c.version, image.version) || !c.tagged) continue;
    if (!listed.empty() && listed.count(c.device) == 0) continue;
    if (!target.from_version.empty() && StoredVersion(c.version) != target.from_version) continue;
    if (c.barred) {
      ++barred;
      continue;
    }
    ordered.emplace_back(CampaignOrderKey(campaign, c.device), c.device);
  }
  if (ordered.empty()) throw RegistryRefusal(NobodySentence(target, image, barred));
  std::sort(ordered.begin(), ordered.end());

  CampaignPlan plan;
  plan.wave_ends = WaveEnds(waves, static_cast<uint32_t>(ordered.size()));
  plan.devices.reserve(ordered.size());
  uint32_t wave = 0;
  for (uint32_t position = 0; position < ordered.size(); ++position) {
    while (position >= plan.wave_ends[wave]) ++wave;
    plan.devices.push_back({std::move(ordered[position].second), position, wave});
  }
  return plan;
}

}  // namespace mqota::fleet
