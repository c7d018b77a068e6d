// The device registry: what each device reported, and the versions it must
// never be offered again (per device, per major.minor.revision).
#include "mqota/server/device_registry.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace mqota::server {
namespace {

DeviceReport Report(std::string device, image::ImageVersion version, std::string outcome,
                    bool refused) {
  DeviceReport report;
  report.device = std::move(device);
  report.version = version;
  report.outcome = std::move(outcome);
  report.refused = refused;
  return report;
}

TEST(DeviceRegistry, UnknownDevicesRefuseNothing) {
  const DeviceRegistry registry;
  EXPECT_FALSE(registry.Find("dev-1").has_value());
  EXPECT_FALSE(registry.Refused("dev-1", {1, 2, 0, 0}));
  EXPECT_FALSE(registry.Refused("", {0, 0, 0, 0}));
}

TEST(DeviceRegistry, RecordsTheLastReportAndWhatWasRefused) {
  DeviceRegistry registry;
  registry.Record(Report("dev-1", {1, 2, 0, 0}, "reverted", true));
  auto d = registry.Find("dev-1");
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->last_version, (image::ImageVersion{1, 2, 0, 0}));
  EXPECT_EQ(d->last_outcome, "reverted");
  EXPECT_EQ(d->refused.size(), 1u);
  EXPECT_TRUE(registry.Refused("dev-1", {1, 2, 0, 0}));

  // A later report replaces the last outcome; what was refused stays refused.
  registry.Record(Report("dev-1", {1, 1, 0, 0}, "confirmed", false));
  d = registry.Find("dev-1");
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->last_version, (image::ImageVersion{1, 1, 0, 0}));
  EXPECT_EQ(d->last_outcome, "confirmed");
  EXPECT_TRUE(registry.Refused("dev-1", {1, 2, 0, 0}));
  EXPECT_FALSE(registry.Refused("dev-1", {1, 1, 0, 0}));  // confirmed is not refused

  // Reports that do not refuse (pending, failed to store) refuse nothing.
  registry.Record(Report("dev-1", {1, 3, 0, 0}, "failed", false));
  EXPECT_FALSE(registry.Refused("dev-1", {1, 3, 0, 0}));
  registry.Record(Report("dev-1", {1, 4, 0, 0}, "rejected", true));
  EXPECT_TRUE(registry.Refused("dev-1", {1, 4, 0, 0}));
  EXPECT_EQ(registry.Find("dev-1")->refused.size(), 2u);
}

TEST(DeviceRegistry, RefusedIsPerDevice) {
  DeviceRegistry registry;
  registry.Record(Report("dev-1", {1, 2, 0, 0}, "reverted", true));
  EXPECT_TRUE(registry.Refused("dev-1", {1, 2, 0, 0}));
  EXPECT_FALSE(registry.Refused("dev-2", {1, 2, 0, 0}));
  EXPECT_FALSE(registry.Refused("dev-10", {1, 2, 0, 0}));
  EXPECT_FALSE(registry.Refused("dev-", {1, 2, 0, 0}));
  EXPECT_FALSE(registry.Find("dev-2").has_value());
  registry.Record(Report("dev-2", {1, 3, 0, 0}, "refused", true));
  EXPECT_FALSE(registry.Refused("dev-1", {1, 3, 0, 0}));
  EXPECT_TRUE(registry.Refused("dev-2", {1, 3, 0, 0}));
  EXPECT_FALSE(registry.Refused("dev-2", {1, 2, 0, 0}));
}

TEST(DeviceRegistry, RefusedIsPerMajorMinorRevisionNotBuild) {
  DeviceRegistry registry;
  registry.Record(Report("dev-1", {1, 2, 3, 7}, "reverted", true));
  // The protocol's version has no build number: any build of 1.2.3 is refused.
  EXPECT_TRUE(registry.Refused("dev-1", {1, 2, 3, 0}));
  EXPECT_TRUE(registry.Refused("dev-1", {1, 2, 3, 99}));
  for (const image::ImageVersion other :
       {image::ImageVersion{1, 2, 4, 7}, image::ImageVersion{1, 3, 3, 7},
        image::ImageVersion{2, 2, 3, 7}, image::ImageVersion{1, 2, 0, 0},
        image::ImageVersion{0, 2, 3, 7}}) {
    EXPECT_FALSE(registry.Refused("dev-1", other))
        << int(other.major) << "." << int(other.minor) << "." << other.revision;
  }
  // The revision is 16 bits: 1.2.259 is not 1.2.3.
  registry.Record(Report("dev-2", {1, 2, 259, 0}, "reverted", true));
  EXPECT_TRUE(registry.Refused("dev-2", {1, 2, 259, 0}));
  EXPECT_FALSE(registry.Refused("dev-2", {1, 2, 3, 0}));
}

TEST(DeviceRegistry, RecordsFromManyThreads) {
  DeviceRegistry registry;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&registry, t] {
      for (int i = 0; i < 200; ++i) {
        registry.Record(Report("dev-" + std::to_string(i % 10),
                               {1, static_cast<uint8_t>(t), static_cast<uint16_t>(i), 0},
                               "reverted", true));
        (void)registry.Refused("dev-0", {1, 0, 0, 0});
      }
    });
  }
  for (auto& thread : threads) thread.join();
  for (int d = 0; d < 10; ++d) {
    const auto device = registry.Find("dev-" + std::to_string(d));
    ASSERT_TRUE(device.has_value());
    EXPECT_EQ(device->refused.size(), 4u * 20u);  // 4 minors x 20 revisions each
  }
}

TEST(DeviceRegistry, IsBoundedInDevicesAndInVersionsPerDevice) {
  DeviceRegistry registry(3);
  for (int d = 0; d < 3; ++d)
    EXPECT_TRUE(
        registry.Record(Report("dev-" + std::to_string(d), {1, 2, 0, 0}, "reverted", true)));
  EXPECT_FALSE(registry.Record(Report("dev-3", {1, 2, 0, 0}, "reverted", true)));
  EXPECT_FALSE(registry.Find("dev-3").has_value());
  EXPECT_TRUE(registry.Record(Report("dev-0", {1, 3, 0, 0}, "confirmed", false)));  // known: fine
  for (uint16_t r = 0; r < 2 * DeviceRegistry::kMaxRefused; ++r) {
    registry.Record(Report("dev-1", {2, 0, r, 0}, "reverted", true));
  }
  EXPECT_EQ(registry.Find("dev-1")->refused.size(), DeviceRegistry::kMaxRefused);
}

}  // namespace
}  // namespace mqota::server
