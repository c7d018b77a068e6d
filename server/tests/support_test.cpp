// The small parts: topic rules, the offer book's bounds, the work queue.
#include <gtest/gtest.h>

#include <thread>

#include "mqota/server/offer_book.h"
#include "mqota/server/topics.h"
#include "mqota/server/work_queue.h"

namespace mqota::server {
namespace {

TEST(Topics, RequestTopicsAndTheirBoard) {
  EXPECT_EQ(RequestSubscription("mqota"), "mqota/+/publish_notify");
  EXPECT_EQ(BoardOfRequestTopic("mqota", "mqota/B1/publish_notify"), "B1");
  EXPECT_EQ(BoardOfRequestTopic("a/b", "a/b/B1/publish_notify"), "B1");
  for (const char* bad :
       {"mqota/publish_notify", "mqota//publish_notify", "mqota/a/b/publish_notify",
        "mqotax/B/publish_notify", "mqota/B/publish_notifyx", "x/B/publish_notify",
        "mqota/B/Publish_notify", ""}) {
    EXPECT_EQ(BoardOfRequestTopic("mqota", bad), std::nullopt) << bad;
  }
  EXPECT_TRUE(ValidPrefix("mqota"));
  EXPECT_TRUE(ValidPrefix("a/b"));
  for (const char* bad : {"", "/a", "a/", "a//b", "a/+", "#"}) EXPECT_FALSE(ValidPrefix(bad));
}

TEST(Topics, ReplyTopicsStayInTheDevicesSubtree) {
  EXPECT_EQ(RefuseReplyTopic("p", "B", "p/B/OTAImage/4711"), nullptr);
  EXPECT_EQ(RefuseReplyTopic("p", "B", "p/B/subscriber/image1"), nullptr);
  EXPECT_NE(RefuseReplyTopic("p", "B", "p/C/OTAImage/1"), nullptr);
  EXPECT_NE(RefuseReplyTopic("p", "B", "p/B/publish_notify"), nullptr);
  EXPECT_NE(RefuseReplyTopic("p", "B", "p/B/OTAImage"), nullptr);
  EXPECT_NE(RefuseReplyTopic("p", "B", "p/B/#"), nullptr);
}

TEST(Topics, TheDeviceOfAnAgentsReplyTopic) {
  EXPECT_EQ(DeviceOfReplyTopic("mqota", "B", "mqota/B/OTAImage/dev-1/0123456789abcdef"), "dev-1");
  EXPECT_EQ(DeviceOfReplyTopic("a/b", "B", "a/b/B/OTAImage/d/1"), "d");  // a multi-level prefix
  for (const char* other : {
           "mqota/B/OTAImage/4711",                     // the reference's form: no device
           "mqota/C/OTAImage/dev-1/0123456789abcdef",   // another board
           "mqota/BB/OTAImage/dev-1/0123456789abcdef",  // a board named B...
           "other/B/OTAImage/dev-1/0123456789abcdef",   // another prefix
           "mqotax/B/OTAImage/dev-1/0123456789abcdef",
           "mqota/B/subscriber/dev-1/0123456789abcdef",      // not OTAImage
           "mqota/B/OTAImage//0123456789abcdef",             // empty device id
           "mqota/B/OTAImage/dev-1/0123456789abcdef/extra",  // an extra level
           "mqota/B/OTAImage/dev-1/x/",
           "mqota/B/OTAImage/dev-1/",  // a trailing slash
           "mqota/B/OTAImage/dev-1",
           "mqota/B/OTAImage/",
           "mqota/B/OTAImage",
           "",
       }) {
    EXPECT_EQ(DeviceOfReplyTopic("mqota", "B", other), "") << other;
  }
}

TEST(OfferBook, RemembersPerTopicWithinTtlAndCapacity) {
  using namespace std::chrono_literals;
  auto a = std::make_shared<CatalogEntry>();
  auto b = std::make_shared<CatalogEntry>();
  OfferBook book(2, 10s);
  const auto t0 = OfferBook::Clock::now();
  book.Remember("t1", a, t0);
  book.Remember("t2", b, t0);
  EXPECT_EQ(book.Find("t1", t0), a);
  EXPECT_EQ(book.Find("t2", t0), b);
  EXPECT_EQ(book.Find("t1", t0 + 11s), nullptr);  // expired
  book.Remember("t3", a, t0 + 1s);                // full: t1 (oldest) goes
  EXPECT_EQ(book.Find("t1", t0 + 1s), nullptr);
  EXPECT_EQ(book.size(), 2u);
  book.Forget("t2");
  EXPECT_EQ(book.Find("t2", t0 + 1s), nullptr);
  book.Remember("t3", b, t0 + 2s);  // replaces
  EXPECT_EQ(book.Find("t3", t0 + 2s), b);
  EXPECT_EQ(book.size(), 1u);
}

// A device answered with a job that never asks again on its topic is
// reported once, after `quiet`. Asking (Find), a result or "no update"
// (Forget), a new offer and eviction all end the wait.
TEST(OfferBook, ReportsOnceAnOfferWhoseDeviceNeverAskedAgain) {
  using namespace std::chrono_literals;
  auto a = std::make_shared<CatalogEntry>();
  auto b = std::make_shared<CatalogEntry>();
  OfferBook book(10, 1h);
  const auto t0 = OfferBook::Clock::now();
  book.Remember("silent", a, t0, true);
  book.Remember("asks", a, t0, true);
  book.Remember("reports", a, t0, true);
  book.Remember("replaced", a, t0, true);
  book.Remember("pushed", a, t0);  // offered while serving a request: awaits nothing
  book.Remember("later", b, t0 + 30s, true);
  EXPECT_TRUE(book.TakeUnfollowed(60s, t0 + 59s).empty());
  EXPECT_EQ(book.Find("asks", t0 + 1s), a);
  book.Forget("reports");
  book.Remember("replaced", a, t0 + 2s);
  auto quiet = book.TakeUnfollowed(60s, t0 + 61s);
  ASSERT_EQ(quiet.size(), 1u);
  EXPECT_EQ(quiet[0].topic, "silent");
  EXPECT_EQ(quiet[0].entry, a);
  EXPECT_EQ(quiet[0].age, 61s);
  EXPECT_TRUE(book.TakeUnfollowed(60s, t0 + 89s).empty());  // once; "later" is younger
  EXPECT_EQ(book.Find("silent", t0 + 100s), a);             // asking late is still served
  quiet = book.TakeUnfollowed(60s, t0 + 90s);
  ASSERT_EQ(quiet.size(), 1u);
  EXPECT_EQ(quiet[0].topic, "later");
  EXPECT_EQ(quiet[0].entry, b);
  // A new job on the same topic waits again.
  book.Remember("silent", b, t0 + 100s, true);
  quiet = book.TakeUnfollowed(60s, t0 + 160s);
  ASSERT_EQ(quiet.size(), 1u);
  EXPECT_EQ(quiet[0].topic, "silent");
  EXPECT_TRUE(book.TakeUnfollowed(60s, t0 + 1000s).empty());

  // Evicted (the book is full) is forgotten, not reported.
  OfferBook small(1, 1h);
  small.Remember("first", a, t0, true);
  small.Remember("second", b, t0 + 1s, true);
  quiet = small.TakeUnfollowed(60s, t0 + 100s);
  ASSERT_EQ(quiet.size(), 1u);
  EXPECT_EQ(quiet[0].topic, "second");
}

TEST(WorkQueue, BoundsMessagesButNotPumpsAndClosesCleanly) {
  WorkQueue queue(2);
  EXPECT_TRUE(queue.PushMessage({"a", {}, 0}));
  EXPECT_TRUE(queue.PushMessage({"b", {}, 0}));
  EXPECT_FALSE(queue.PushMessage({"c", {}, 0}));
  queue.PushPump(7);
  auto first = queue.Pop();
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(std::get<IncomingMessage>(*first).topic, "a");
  EXPECT_TRUE(queue.PushMessage({"d", {}, 0}));  // room again
  std::thread consumer([&] {
    int items = 0;
    while (queue.Pop()) ++items;
    EXPECT_LE(items, 3);
  });
  queue.Close();
  consumer.join();
  EXPECT_FALSE(queue.PushMessage({"e", {}, 0}));
}

}  // namespace
}  // namespace mqota::server
