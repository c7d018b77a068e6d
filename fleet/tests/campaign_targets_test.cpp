// The backend-neutral parts of the registry, without any storage: versions,
// the campaign order, target resolution and the stored JSON of rules and
// targets (docs/spec/fleet-registry.md).
#include "campaign_targets.h"

#include <gtest/gtest.h>

#include "campaign_json.h"
#include "versions.h"

namespace mqota::fleet {
namespace {

TEST(Versions, AreStoredAsMajorMinorRevisionAndComparedAsNumbers) {
  EXPECT_EQ(CanonicalVersion("1.2.3+4"), "1.2.3");
  EXPECT_EQ(CanonicalVersion("1.2"), "1.2.0");
  EXPECT_EQ(CanonicalVersion("1"), "1.0.0");
  EXPECT_FALSE(CanonicalVersion("v1.2"));
  EXPECT_FALSE(CanonicalVersion("01.2"));
  EXPECT_FALSE(CanonicalVersion(""));
  EXPECT_EQ(StoredVersion("1.2.3+4"), "1.2.3");
  EXPECT_EQ(StoredVersion("garbled"), "garbled");
  EXPECT_TRUE(OlderVersion("1.9.0", "1.10.0"));
  EXPECT_FALSE(OlderVersion("1.10.0", "1.9.0"));
  EXPECT_FALSE(OlderVersion("1.2.0+1", "1.2.0+2"));  // the build number is not compared
  EXPECT_FALSE(OlderVersion("", "1.0.0"));
  EXPECT_FALSE(OlderVersion("1.0.0", "x"));
}

TEST(CampaignOrder, IsFnv1aOfCampaignAndDevice) {
  // FNV-1a 64 of "1/a", computed by hand from the offset basis and prime.
  uint64_t expected = 14695981039346656037ULL;
  for (char c : std::string("1/a")) {
    expected = (expected ^ static_cast<unsigned char>(c)) * 1099511628211ULL;
  }
  EXPECT_EQ(CampaignOrderKey(1, "a"), expected);
  EXPECT_NE(CampaignOrderKey(1, "a"), CampaignOrderKey(2, "a"));
}

Image KitImage(const std::string& version) {
  Image image;
  image.id = 3;
  image.board = "kit";
  image.version = version;
  return image;
}

std::vector<WaveSize> Waves(const char* text) {
  std::string error;
  return ParseWaves(text, &error).value();
}

TEST(PlanCampaign, OrdersByTheKeyAndPlacesInWaves) {
  std::vector<TargetCandidate> candidates;
  candidates.reserve(50);
  for (int i = 0; i < 50; ++i)
    candidates.push_back({"d" + std::to_string(i), "1.0.0", true, false});
  const CampaignPlan plan =
      PlanCampaign(7, {"kit", {}, "", ""}, KitImage("1.2.0"), Waves("1%,10%,50%"), candidates);
  EXPECT_EQ(plan.wave_ends, (std::vector<uint32_t>{1, 5, 25, 50}));
  ASSERT_EQ(plan.devices.size(), 50u);
  for (uint32_t i = 1; i < 50; ++i) {
    EXPECT_LT(CampaignOrderKey(7, plan.devices[i - 1].device),
              CampaignOrderKey(7, plan.devices[i].device));
    EXPECT_EQ(plan.devices[i].position, i);
  }
  EXPECT_EQ(plan.devices[0].wave, 0u);
  EXPECT_EQ(plan.devices[4].wave, 1u);
  EXPECT_EQ(plan.devices[5].wave, 2u);
  EXPECT_EQ(plan.devices[49].wave, 3u);
}

TEST(PlanCampaign, LeavesOutNewerUntaggedUnlistedAndBarredDevices) {
  const std::vector<TargetCandidate> candidates = {
      {"old", "1.0.0", true, false},   {"same", "1.2.0", true, false},
      {"new", "1.3.0", true, false},   {"untagged", "1.0.0", false, false},
      {"barred", "1.0.0", true, true}, {"odd", "1.1.0", true, false},
  };
  const auto targeted = [&](const CampaignTarget& target) {
    std::vector<std::string> ids;
    for (const PlacedDevice& d :
         PlanCampaign(1, target, KitImage("1.2.0"), Waves("100%"), candidates).devices) {
      ids.push_back(d.device);
    }
    std::sort(ids.begin(), ids.end());
    return ids;
  };
  EXPECT_EQ(targeted({"kit", {}, "t", ""}), (std::vector<std::string>{"odd", "old"}));
  EXPECT_EQ(targeted({"kit", {"odd", "new"}, "t", ""}), std::vector<std::string>{"odd"});
  EXPECT_EQ(targeted({"kit", {}, "t", "1.1.0"}), std::vector<std::string>{"odd"});
  try {
    PlanCampaign(1, {"kit", {"barred"}, "t", ""}, KitImage("1.2.0"), Waves("100%"), candidates);
    ADD_FAILURE() << "not refused";
  } catch (const RegistryRefusal& e) {
    EXPECT_STREQ(e.what(),
                 "no device of board kit tagged \"t\" among the 1 listed runs a version older "
                 "than 1.2.0 without having barred 1.2.0 (1 reverted, rejected or refused it)");
  }
}

TEST(CheckNewCampaign, FillsTheBoardAndRefusesWhatCannotBe) {
  NewCampaign c{"name", 3, {"", {}, "", "1.0.0+1"}, {}, 0};
  const CampaignTarget target = CheckNewCampaign(c, KitImage("1.2.0"));
  EXPECT_EQ(target.board, "kit");
  EXPECT_EQ(target.from_version, "1.0.0");
  c.rules.stall_ms = 0;
  EXPECT_THROW(CheckNewCampaign(c, KitImage("1.2.0")), RegistryRefusal);
}

TEST(CampaignJson, RoundTripsAndReadsOldRowsWithDefaults) {
  CampaignRules rules;
  rules.waves = Waves("5,50%");
  rules.success_percent = 77;
  rules.soak_ms = 1234;
  rules.failure_percent = 3;
  rules.max_in_flight = 9;
  rules.starts_per_minute = 11;
  rules.stall_ms = 5678;
  const CampaignRules back = RulesFromJson(RulesToJson(rules));
  EXPECT_EQ(back.waves, rules.waves);
  EXPECT_EQ(back.success_percent, 77u);
  EXPECT_EQ(back.soak_ms, 1234);
  EXPECT_EQ(back.failure_percent, 3u);
  EXPECT_EQ(back.max_in_flight, 9u);
  EXPECT_EQ(back.starts_per_minute, 11u);
  EXPECT_EQ(back.stall_ms, 5678);
  EXPECT_EQ(RulesFromJson("{\"success_percent\": 50}").stall_ms, CampaignRules{}.stall_ms);

  const CampaignTarget target{"kit", {"a", "b"}, "beta", "1.0.0"};
  const CampaignTarget again = TargetFromJson(TargetToJson(target));
  EXPECT_EQ(again.board, "kit");
  EXPECT_EQ(again.devices, target.devices);
  EXPECT_EQ(again.tag, "beta");
  EXPECT_EQ(again.from_version, "1.0.0");

  EXPECT_THROW(RulesFromJson("not json"), RegistryError);
  EXPECT_THROW(RulesFromJson("{\"soak_ms\": \"long\"}"), RegistryError);
  EXPECT_THROW(TargetFromJson("[]"), RegistryError);
}

}  // namespace
}  // namespace mqota::fleet
