// The fault plan: exact counts per share, the same devices for the same
// seed, independent kinds, moments inside the download.
#include "fault_plan.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace mqota::sim {
namespace {

size_t Count(const std::vector<DeviceFaults>& plan, bool (*has)(const DeviceFaults&)) {
  return static_cast<size_t>(std::count_if(plan.begin(), plan.end(), has));
}

bool Drops(const DeviceFaults& f) { return f.drop_at.has_value(); }
bool Cuts(const DeviceFaults& f) { return f.power_cut_at.has_value(); }
bool SwapCuts(const DeviceFaults& f) { return f.swap_cut; }
bool Slow(const DeviceFaults& f) { return f.slow_flash; }
bool Late(const DeviceFaults& f) { return f.latency; }

TEST(FaultPlan, EachShareIsAnExactCountOfDevices) {
  FaultOptions o;
  o.drop_share = 0.2;
  o.power_cut_share = 0.05;
  o.swap_cut_share = 1.0;
  const auto plan = PlanFaults(o, 100);
  EXPECT_EQ(Count(plan, Drops), 20u);
  EXPECT_EQ(Count(plan, Cuts), 5u);
  EXPECT_EQ(Count(plan, SwapCuts), 100u);
  EXPECT_EQ(Count(plan, Slow), 0u);               // no --flash-op-us: nobody is slow
  EXPECT_EQ(Count(plan, Late), 0u);               // no --latency-ms
  EXPECT_EQ(Count(PlanFaults(o, 3), Drops), 1u);  // 0.6 rounds to 1
}

TEST(FaultPlan, TheSameSeedPicksTheSameDevicesAndMoments) {
  FaultOptions o;
  o.seed = 42;
  o.drop_share = 0.3;
  o.power_cut_share = 0.3;
  const auto a = PlanFaults(o, 50);
  const auto b = PlanFaults(o, 50);
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].drop_at, b[i].drop_at);
    EXPECT_EQ(a[i].power_cut_at, b[i].power_cut_at);
    EXPECT_EQ(a[i].seed, b[i].seed);
  }
  o.seed = 43;
  const auto c = PlanFaults(o, 50);
  size_t same = 0;
  for (size_t i = 0; i < a.size(); ++i)
    same += a[i].drop_at.has_value() == c[i].drop_at.has_value();
  EXPECT_LT(same, a.size());
}

TEST(FaultPlan, ChangingOneShareLeavesTheOthersDevicesAlone) {
  FaultOptions o;
  o.drop_share = 0.2;
  o.power_cut_share = 0.2;
  const auto before = PlanFaults(o, 40);
  o.power_cut_share = 0.5;
  const auto after = PlanFaults(o, 40);
  for (size_t i = 0; i < before.size(); ++i) {
    EXPECT_EQ(before[i].drop_at.has_value(), after[i].drop_at.has_value()) << i;
  }
}

TEST(FaultPlan, FaultsStrikeWellInsideTheDownload) {
  FaultOptions o;
  o.drop_share = 1;
  o.power_cut_share = 1;
  for (const DeviceFaults& f : PlanFaults(o, 200)) {
    EXPECT_GE(*f.drop_at, 0.2);
    EXPECT_LT(*f.drop_at, 0.8);
    EXPECT_GE(*f.power_cut_at, 0.2);
    EXPECT_LT(*f.power_cut_at, 0.8);
  }
}

TEST(FaultPlan, SlowFlashAndLatencyNeedTheirAmounts) {
  FaultOptions o;
  o.flash_op_us = 100;
  o.slow_flash_share = 0.5;
  o.latency_ms = 20;
  const auto plan = PlanFaults(o, 10);
  EXPECT_EQ(Count(plan, Slow), 5u);
  EXPECT_EQ(Count(plan, Late), 10u);  // latency_share defaults to everyone
}

}  // namespace
}  // namespace mqota::sim
