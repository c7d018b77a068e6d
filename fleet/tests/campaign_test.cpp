// The campaign engine over tables of states, the edges first: a wave of one
// device, 0 % and 100 % thresholds, a failure arriving after its wave
// closed, a device reporting twice, soak times.
#include "mqota/fleet/campaign.h"

#include <gtest/gtest.h>

namespace mqota::fleet {
namespace {

std::vector<WaveSize> Waves(std::string_view text) {
  std::string error;
  auto waves = ParseWaves(text, &error);
  EXPECT_TRUE(waves) << text << ": " << error;
  return waves.value_or(std::vector<WaveSize>{});
}

std::string WavesError(std::string_view text) {
  std::string error;
  EXPECT_FALSE(ParseWaves(text, &error)) << text;
  return error;
}

TEST(Waves, ParseAndFormatRoundTrip) {
  EXPECT_EQ(FormatWaves(Waves("1%,10%,50%,100%")), "1%,10%,50%,100%");
  EXPECT_EQ(FormatWaves(Waves(" 5 , 20,100% ")), "5,20,100%");
  EXPECT_EQ(Waves("3"), (std::vector<WaveSize>{{false, 3}}));
}

TEST(Waves, RefusesWhatIsNotAWavePlanWithASentence) {
  EXPECT_EQ(WavesError(""), "no waves given (e.g. 1%,10%,50%)");
  EXPECT_EQ(WavesError("10%,x"), "\"x\" is not a wave size (a count like 5, or 1%..100%)");
  EXPECT_EQ(WavesError("0%"), "a wave of \"0%\" holds nobody");
  EXPECT_EQ(WavesError("150%"), "\"150%\" is more than 100%");
  EXPECT_EQ(WavesError("50%,10%"),
            "waves are cumulative and must not shrink: \"10%\" comes after 50%");
  EXPECT_EQ(WavesError("-1"), "\"-1\" is not a wave size (a count like 5, or 1%..100%)");
  EXPECT_EQ(WavesError("1%,,2%"), "\"\" is not a wave size (a count like 5, or 1%..100%)");
  EXPECT_EQ(WavesError("99999999999"),
            "\"99999999999\" is not a wave size (a count like 5, or 1%..100%)");
}

struct WaveEndsCase {
  const char* waves;
  uint32_t devices;
  std::vector<uint32_t> ends;
};

TEST(Waves, EndsAreCumulativeStrictlyGrowingAndCoverEveryone) {
  const WaveEndsCase cases[] = {
      {"1%,10%,50%", 50, {1, 5, 25, 50}},  // a canary of one: 1 % rounds up
      {"1%,10%,50%", 1000, {10, 100, 500, 1000}},
      {"1%,10%,50%", 1, {1}},  // a wave of one device: one wave
      {"1%,10%,50%", 3, {1, 2, 3}},
      {"1%,2%", 10, {1, 10}},  // 2 % of 10 adds nobody after 1: dropped
      {"100%", 7, {7}},
      {"5,20", 12, {5, 12}},  // a count beyond the fleet: everyone
      {"5,20", 3, {3}},
      {"50%", 0, {}},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(WaveEnds(Waves(c.waves), c.devices), c.ends) << c.waves << " of " << c.devices;
  }
}

// A running campaign of `sizes` waves, `open` of them open.
CampaignState State(std::vector<uint32_t> sizes, uint32_t open) {
  CampaignState s;
  s.open_waves = open;
  for (uint32_t n : sizes) s.waves.push_back({n, 0, 0, 0});
  return s;
}

TEST(NextStep, OpensTheNextWaveWhenTheGateIsMetAndSaysWhy) {
  CampaignState s = State({1, 4, 20, 25}, 1);
  s.rules.success_percent = 100;
  EXPECT_EQ(NextStep(s, 0).kind, Step::kNothing);
  s.waves[0].offered = 1;
  EXPECT_EQ(NextStep(s, 0).kind, Step::kNothing);
  s.waves[0].confirmed = 1;
  EXPECT_EQ(NextStep(s, 0),
            (Step{Step::kOpenWave, "wave 1: 1 of 1 confirmed, 100% needed; opening wave 2"}));
}

TEST(NextStep, TheGateRoundsUpAndZeroPercentOpensAtOnce) {
  CampaignState s = State({10, 10}, 1);
  s.rules.success_percent = 90;
  s.waves[0].confirmed = 8;
  EXPECT_EQ(NextStep(s, 0).kind, Step::kNothing);
  s.waves[0].confirmed = 9;
  EXPECT_EQ(NextStep(s, 0).kind, Step::kOpenWave);
  s.rules.success_percent = 95;  // 9.5 rounds up to 10
  EXPECT_EQ(NextStep(s, 0).kind, Step::kNothing);
  s.rules.success_percent = 0;
  s.waves[0].confirmed = 0;
  EXPECT_EQ(NextStep(s, 0).kind, Step::kOpenWave);
}

TEST(NextStep, SoaksAfterTheGateBeforeOpening) {
  CampaignState s = State({2, 8}, 1);
  s.rules.soak_ms = 60'000;
  s.waves[0].confirmed = 2;
  const Step gate = NextStep(s, 1000);
  EXPECT_EQ(gate, (Step{Step::kGateMet,
                        "wave 1: 2 of 2 confirmed, 90% needed; soaking 60 s before wave 2"}));
  s.gate_met_at = 1000;
  EXPECT_EQ(NextStep(s, 60'999).kind, Step::kNothing);
  EXPECT_EQ(NextStep(s, 61'000).kind, Step::kOpenWave);
}

TEST(NextStep, AFailureDuringTheSoakHaltsInsteadOfOpening) {
  CampaignState s = State({3, 7}, 1);
  s.rules.soak_ms = 60'000;
  s.rules.success_percent = 50;
  s.rules.failure_percent = 0;
  s.waves[0] = {3, 1, 2, 0};
  s.gate_met_at = 0;
  s.waves[0] = {3, 0, 2, 1};  // the third device of the wave reverts while soaking
  EXPECT_EQ(NextStep(s, 61'000).kind, Step::kHalt);
}

TEST(NextStep, HaltsWhenFailuresExceedTheThresholdOfTheOpenWaves) {
  CampaignState s = State({1, 9, 40}, 2);  // 10 devices in the open waves
  s.rules.failure_percent = 10;
  s.waves[1].failed = 1;  // 10 %: not more than 10 %
  EXPECT_EQ(NextStep(s, 0).kind, Step::kNothing);
  s.waves[1].failed = 2;
  EXPECT_EQ(NextStep(s, 0),
            (Step{Step::kHalt,
                  "2 of 10 devices in the open waves failed (20%), more than the 10% allowed"}));
}

TEST(NextStep, ZeroPercentHaltsOnTheFirstFailureAndHundredNever) {
  CampaignState s = State({1, 99}, 1);
  s.rules.failure_percent = 0;
  s.waves[0].failed = 1;
  EXPECT_EQ(NextStep(s, 0).kind, Step::kHalt);
  s.rules.failure_percent = 100;
  s.rules.success_percent = 0;
  EXPECT_EQ(NextStep(s, 0).kind, Step::kOpenWave);
}

TEST(NextStep, ACanaryThatRevertsHaltsBeforeTheNextWave) {
  CampaignState s = State({1, 4, 20, 25}, 1);
  s.waves[0].failed = 1;
  const Step step = NextStep(s, 0);
  EXPECT_EQ(step.kind, Step::kHalt);
  EXPECT_EQ(step.reason,
            "1 of 1 devices in the open waves failed (100%), more than the 10% allowed");
}

TEST(NextStep, AFailureInAClosedWaveStillCounts) {
  CampaignState s = State({2, 8, 10}, 3);  // all open; wave 1 long done
  s.rules.failure_percent = 5;
  s.waves[0] = {2, 0, 1, 1};
  EXPECT_EQ(NextStep(s, 0).kind, Step::kNothing);  // 1 of 20 = 5 %: not more
  s.waves[0] = {2, 0, 0, 2};
  EXPECT_EQ(NextStep(s, 0).kind, Step::kHalt);
}

TEST(NextStep, FailuresAcceptedAtResumeCountNoMore) {
  CampaignState s = State({1, 9}, 1);
  s.waves[0].failed = 1;
  s.failures_accepted = 1;
  s.rules.success_percent = 0;
  EXPECT_EQ(NextStep(s, 0).kind, Step::kOpenWave);
  s.open_waves = 2;
  s.waves[1].failed = 1;  // 1 new of 10: not more than 10 %
  EXPECT_EQ(NextStep(s, 0).kind, Step::kNothing);
  s.waves[1].failed = 2;
  EXPECT_EQ(NextStep(s, 0).reason,
            "2 of 10 devices in the open waves failed (besides the 1 accepted at resume) (20%), "
            "more than the 10% allowed");
}

TEST(NextStep, CompletesWhenEveryDeviceOfTheLastWaveSettled) {
  CampaignState s = State({1, 3}, 2);
  s.rules.failure_percent = 50;
  s.waves[0].confirmed = 1;
  s.waves[1] = {3, 1, 2, 0};
  EXPECT_EQ(NextStep(s, 0).kind, Step::kNothing);
  s.waves[1] = {3, 0, 2, 1};
  EXPECT_EQ(NextStep(s, 0),
            (Step{Step::kComplete, "every device confirmed or failed: 1 failed of 4"}));
}

TEST(NextStep, NothingHappensUnlessRunning) {
  for (CampaignStatus status : {CampaignStatus::kPaused, CampaignStatus::kHalted,
                                CampaignStatus::kCancelled, CampaignStatus::kCompleted}) {
    CampaignState s = State({1, 1}, 1);
    s.status = status;
    s.waves[0].failed = 1;
    EXPECT_EQ(NextStep(s, 0).kind, Step::kNothing) << CampaignStatusName(status);
  }
}

TEST(MayOffer, OnlyOpenWavesOfARunningCampaign) {
  CampaignState s = State({1, 9}, 1);
  EXPECT_TRUE(MayOffer(s, 0, Stage::kWaiting).offer);
  EXPECT_EQ(MayOffer(s, 1, Stage::kWaiting).why_not, "its wave 2 is not open yet");
  s.status = CampaignStatus::kHalted;
  EXPECT_EQ(MayOffer(s, 0, Stage::kWaiting).why_not, "the campaign is halted");
}

TEST(MayOffer, NeverAgainAfterAnOutcomeButAgainWhileOffered) {
  CampaignState s = State({3}, 1);
  EXPECT_EQ(MayOffer(s, 0, Stage::kConfirmed).why_not,
            "it already confirmed this campaign's image");
  EXPECT_EQ(MayOffer(s, 0, Stage::kFailed).why_not, "it failed this campaign's image");
  s.rules.max_in_flight = 1;
  s.in_flight = 1;
  // A device that already holds its slot asks again (lost answer, power cut).
  EXPECT_TRUE(MayOffer(s, 0, Stage::kOffered).offer);
  EXPECT_EQ(MayOffer(s, 0, Stage::kWaiting).why_not, "1 devices are updating, the cap");
}

TEST(MayOffer, TheStartRateLimitsNewOffersOnly) {
  CampaignState s = State({100}, 1);
  s.rules.starts_per_minute = 10;
  s.starts_last_minute = 9;
  EXPECT_TRUE(MayOffer(s, 0, Stage::kWaiting).offer);
  s.starts_last_minute = 10;
  EXPECT_EQ(MayOffer(s, 0, Stage::kWaiting).why_not, "the start rate (10 a minute) is reached");
  EXPECT_TRUE(MayOffer(s, 0, Stage::kOffered).offer);
}

TEST(StageAfter, OutcomesAreFinalAndReportingTwiceChangesNothing) {
  EXPECT_EQ(StageAfter(Stage::kWaiting, EventKind::kOffered), Stage::kOffered);
  EXPECT_EQ(StageAfter(Stage::kOffered, EventKind::kOffered), std::nullopt);
  EXPECT_EQ(StageAfter(Stage::kOffered, EventKind::kDownloading), std::nullopt);
  EXPECT_EQ(StageAfter(Stage::kOffered, EventKind::kInterrupted), std::nullopt);  // retried
  EXPECT_EQ(StageAfter(Stage::kOffered, EventKind::kConfirmed), Stage::kConfirmed);
  EXPECT_EQ(StageAfter(Stage::kConfirmed, EventKind::kConfirmed), std::nullopt);
  EXPECT_EQ(StageAfter(Stage::kConfirmed, EventKind::kReverted), std::nullopt);
  for (EventKind kind :
       {EventKind::kReverted, EventKind::kRejected, EventKind::kRefused, EventKind::kFailed}) {
    EXPECT_EQ(StageAfter(Stage::kOffered, kind), Stage::kFailed) << EventKindName(kind);
    EXPECT_EQ(StageAfter(Stage::kFailed, kind), std::nullopt) << EventKindName(kind);
  }
  EXPECT_EQ(StageAfter(Stage::kFailed, EventKind::kConfirmed), std::nullopt);
}

TEST(Commands, FollowTheStatus) {
  std::string error;
  EXPECT_EQ(Pause(CampaignStatus::kRunning, &error), CampaignStatus::kPaused);
  EXPECT_EQ(Pause(CampaignStatus::kHalted, &error), std::nullopt);
  EXPECT_EQ(error, "the campaign is halted, not running");
  EXPECT_EQ(Resume(CampaignStatus::kHalted, &error), CampaignStatus::kRunning);
  EXPECT_EQ(Resume(CampaignStatus::kPaused, &error), CampaignStatus::kRunning);
  EXPECT_EQ(Resume(CampaignStatus::kRunning, &error), std::nullopt);
  EXPECT_EQ(error, "the campaign is running, not paused or halted");
  EXPECT_EQ(Cancel(CampaignStatus::kHalted, &error), CampaignStatus::kCancelled);
  EXPECT_EQ(Cancel(CampaignStatus::kCompleted, &error), std::nullopt);
  EXPECT_EQ(error, "the campaign is already completed");
}

TEST(Names, RoundTripAndUnknownNamesAreRefused) {
  for (EventKind kind : kAllEventKinds) EXPECT_EQ(ParseEventKind(EventKindName(kind)), kind);
  EXPECT_EQ(ParseEventKind("exploded"), std::nullopt);
  EXPECT_EQ(ParseCampaignStatus("halted"), CampaignStatus::kHalted);
  EXPECT_EQ(ParseCampaignStatus("Halted"), std::nullopt);
  EXPECT_EQ(ParseStage("failed"), Stage::kFailed);
}

TEST(Rules, AreChecked) {
  CampaignRules rules;
  EXPECT_EQ(CheckRules(rules), "");
  rules.failure_percent = 101;
  EXPECT_EQ(CheckRules(rules), "the failure threshold must be 0..100%");
  rules = {};
  rules.waves.clear();
  EXPECT_EQ(CheckRules(rules), "a campaign needs at least one wave");
}

}  // namespace
}  // namespace mqota::fleet
