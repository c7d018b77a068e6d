// The publish bound on its own: room, waiting, and acknowledgements that
// come before their message is recorded.
#include "publish_flow.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

namespace mqota::posix {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

TEST(PublishFlow, WaitsForRoomAndGetsItWhenTheBrokerAcknowledges) {
  PublishFlow flow(1000);
  ASSERT_TRUE(flow.WaitForRoom(600, 0ms));
  flow.Sent(1, 600);
  ASSERT_TRUE(flow.WaitForRoom(400, 0ms));
  flow.Sent(2, 400);
  EXPECT_EQ(flow.unacked_bytes(), 1000u);
  const auto start = Clock::now();
  EXPECT_FALSE(flow.WaitForRoom(1, 50ms));
  EXPECT_GE(Clock::now() - start, 50ms);
  std::thread broker([&] {
    std::this_thread::sleep_for(30ms);
    flow.Acknowledged(1);
  });
  EXPECT_TRUE(flow.WaitForRoom(600, 5s));
  broker.join();
  EXPECT_EQ(flow.unacked_bytes(), 400u);
}

TEST(PublishFlow, OneMessageLargerThanTheBoundGoesWhenNothingIsUnacknowledged) {
  PublishFlow flow(100);
  EXPECT_TRUE(flow.WaitForRoom(5000, 0ms));
  flow.Sent(7, 5000);
  EXPECT_FALSE(flow.WaitForRoom(1, 0ms));
  flow.Acknowledged(7);
  EXPECT_TRUE(flow.WaitForRoom(5000, 0ms));
}

TEST(PublishFlow, AnAcknowledgementBeforeItsMessageIsRecordedIsNotLost) {
  PublishFlow flow(100);
  flow.Acknowledged(3);  // the loop thread was quicker than the publisher
  flow.Sent(3, 80);
  EXPECT_EQ(flow.unacked_bytes(), 0u);
  flow.Sent(4, 80);
  EXPECT_EQ(flow.unacked_bytes(), 80u);
}

TEST(PublishFlow, NoBoundNeverWaits) {
  PublishFlow flow(0);
  flow.Sent(1, 1u << 30);
  EXPECT_TRUE(flow.WaitForRoom(1u << 30, 0ms));
}

}  // namespace
}  // namespace mqota::posix
