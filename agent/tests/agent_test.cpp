// The agent through the reference job flow
// (docs/spec/reference-protocol.md#job-flow), with messages shaped exactly as
// publisher.py sends them, on the NOR flash model.
#include <gtest/gtest.h>

#include <set>
#include <tuple>

#include "agent_fixture.h"

namespace mqota::agent {
namespace {

using fixture::AgentTest;
using fixture::kBoard;
using fixture::kRequestTopic;
using fixture::Message;
using fixture::PullTest;

TEST_F(AgentTest, ReferenceJobFlowInstallsAVerifiedImage) {
  Start();
  // Subscribed to its own topic before asking; the topic names the device.
  EXPECT_TRUE(transport_.subscriptions.count(Topic()));
  EXPECT_EQ(Topic().rfind("mqota/MQOTA_VIRTUAL_BOARD/OTAImage/dev-1/", 0), 0u) << Topic();
  auto requests = Requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0]["Message"], "Update Availability");
  EXPECT_EQ(requests[0]["Version"], "1.0.0");
  EXPECT_EQ(requests[0]["BoardName"], kBoard);
  EXPECT_EQ(requests[0]["UniqueTopicName"], Topic());

  Deliver(Topic(), Job("1.1.0"));
  requests = Requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[1]["Message"], "Request Update");
  EXPECT_EQ(agent_->status().state, AgentState::kDownloading);

  const auto image = SignedImage({1, 1, 0, 0}, 60000);
  for (const auto& chunk : Chunks(image, {1, 1, 0, 0})) Deliver(Topic(), chunk);
  EXPECT_EQ(agent_->status().state, AgentState::kPending);
  EXPECT_TRUE(agent_->reset_requested());
  EXPECT_EQ(agent_->status().last_end, SessionEnd::kInstalled);
  EXPECT_EQ(SecondaryBytes(image.size()), image);
  const auto trailer = SecondaryTrailer();
  EXPECT_EQ(trailer.magic, boot::MagicState::kGood);     // pending...
  EXPECT_EQ(trailer.image_ok, boot::FlagState::kUnset);  // ...as a test: reverts unless confirmed
  requests = Requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[2]["Message"], "Success");
  EXPECT_EQ(requests[2]["Version"], "1.1.0");
  EXPECT_FALSE(transport_.subscriptions.count(Topic()));
  EXPECT_EQ(chip_->counters().refused, 0u);
}

TEST_F(AgentTest, MessagesOnOtherTopicsAreIgnored) {
  Start();
  Deliver(kRequestTopic, Job("1.1.0"));
  Deliver("mqota/MQOTA_VIRTUAL_BOARD/OTAImage", Job("1.1.0"));  // the reference's shared topic
  Deliver(Topic() + "x", Job("1.1.0"));
  EXPECT_EQ(agent_->status().state, AgentState::kAwaitingJob);
  EXPECT_EQ(agent_->status().ignored_messages, 3u);
  EXPECT_EQ(Requests().size(), 1u);
  Deliver(Topic(), Job("1.1.0"));
  EXPECT_EQ(agent_->status().state, AgentState::kDownloading);
}

TEST_F(AgentTest, JobsThatMustNotInstallEndTheSessionQuietly) {
  const std::pair<std::string, SessionEnd> cases[] = {
      {Job("1.0.0"), SessionEnd::kNoUpdate},  // same version
      {Job("0.9.0"), SessionEnd::kNoUpdate},  // a downgrade
      {Job("1.1.0", "OTHER_BOARD"), SessionEnd::kWrongBoard},
      {Job("1.1.0", kBoard, "evil.example"), SessionEnd::kRedirect},
      {Job("1.1.0", kBoard, "", "1883"), SessionEnd::kRedirect},  // plain port: no TLS
      {R"({"Message": "No Update Available"})", SessionEnd::kNoUpdate},
      {R"({"Message": "Update Available", "Version": "1.1"})", SessionEnd::kBadJob},
      {"not json", SessionEnd::kBadJob},
  };
  for (const auto& [job, end] : cases) {
    SCOPED_TRACE(job);
    agent_->CheckNow(now_);
    const std::string topic = Topic();
    const size_t before = Requests().size();
    const uint32_t ended = agent_->status().sessions_ended;
    Deliver(topic, job);
    EXPECT_EQ(agent_->status().sessions_ended, ended + 1);  // what tells a console to say why
    EXPECT_EQ(agent_->status().state, AgentState::kIdle);
    EXPECT_EQ(agent_->status().last_end, end) << Describe(agent_->status().last_end);
    EXPECT_EQ(Requests().size(), before);  // no Request Update
    EXPECT_FALSE(transport_.subscriptions.count(topic));
  }
}

// The reference device reads "Port": "" as 0, "the broker I am connected to",
// and so do we: a reference publisher configured without a port still updates.
TEST_F(AgentTest, AnEmptyPortMeansTheBrokerItIsConnectedTo) {
  Start();
  Deliver(Topic(), Job("1.1.0", kBoard, "", ""));
  EXPECT_EQ(agent_->status().state, AgentState::kDownloading)
      << Describe(agent_->status().last_end);
  const auto requests = Requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[1]["Message"], "Request Update");
}

TEST_F(AgentTest, ForgedImageIsErasedReportedAndNotRetried) {
  Start();
  Deliver(Topic(), Job("1.1.0"));
  const auto other = host::Key::Generate(host::KeyType::kEcdsaP256);
  const auto forged = SignedImage({1, 1, 0, 0}, 30000, &other);
  for (const auto& chunk : Chunks(forged, {1, 1, 0, 0})) Deliver(Topic(), chunk);
  EXPECT_EQ(agent_->status().last_end, SessionEnd::kVerifyFailed);
  EXPECT_EQ(agent_->status().verify_error, image::ImageErrc::kUnknownKey);
  EXPECT_EQ(SecondaryTrailer().magic, boot::MagicState::kUnset);  // never pending
  const auto slot = SecondaryBytes(32 * 4096);
  EXPECT_TRUE(std::all_of(slot.begin(), slot.end(), [](uint8_t b) { return b == 0xff; }));
  const auto result = Requests().back();
  EXPECT_EQ(result["Message"], "Failure");
  EXPECT_NE(result["Reason"].get<std::string>().find("trusted key"), std::string::npos);
  // The same version is not downloaded again (the reference loops: R16).
  agent_->CheckNow(now_);
  Deliver(Topic(), Job("1.1.0"));
  EXPECT_EQ(agent_->status().last_end, SessionEnd::kBlocklisted);
}

TEST_F(AgentTest, ChunksInAnyOrderWithDuplicatesAndGarbageStillComplete) {
  Start();
  Deliver(Topic(), Job("1.1.0"));
  const auto image = SignedImage({1, 1, 0, 0}, 50000);
  auto chunks = Chunks(image, {1, 1, 0, 0});
  std::reverse(chunks.begin(), chunks.end());
  Deliver(Topic(), chunks[3]);
  Deliver(Topic(), std::vector<uint8_t>(10, 0));  // too short
  auto wrong_version = Chunks(image, {1, 2, 0, 0})[0];
  Deliver(Topic(), wrong_version);  // another image
  auto overrun = chunks[0];
  overrun.resize(overrun.size() - 1);  // data_size lies (R5)
  Deliver(Topic(), overrun);
  auto off_grid = chunks[1];
  off_grid[22] = 1;  // offset 1: not a granule
  Deliver(Topic(), off_grid);
  for (const auto& chunk : chunks) Deliver(Topic(), chunk);
  EXPECT_EQ(agent_->status().bad_chunks, 4u);
  EXPECT_EQ(agent_->status().last_end, SessionEnd::kInstalled);
  EXPECT_EQ(SecondaryBytes(image.size()), image);
  EXPECT_EQ(chip_->counters().refused, 0u);
}

TEST_F(AgentTest, StalledDownloadAsksAgainThenResumesNextSession) {
  Start();
  Deliver(Topic(), Job("1.1.0"));
  const auto image = SignedImage({1, 1, 0, 0}, 60000);
  const auto chunks = Chunks(image, {1, 1, 0, 0});
  for (size_t i = 0; i < chunks.size() / 2; ++i) Deliver(Topic(), chunks[i]);
  const uint32_t half = agent_->status().granules_present;
  ASSERT_GT(half, 3u);
  // No more chunks: the agent asks again, a bounded number of times.
  for (int i = 0; i < 10 && agent_->status().state == AgentState::kDownloading; ++i) {
    now_ = agent_->next_deadline_ms();
    agent_->OnTick(now_);
  }
  EXPECT_EQ(agent_->status().last_end, SessionEnd::kStalled);
  int request_updates = 0;
  for (const auto& r : Requests()) request_updates += r["Message"] == "Request Update";
  EXPECT_EQ(request_updates, 3);
  // Next session (as after a reset: a new store on the same flash): resumes.
  DownloadStore fresh_store(secondary_, journal_, DownloadLimits{32 * 4096 - 3120}, bitmap_);
  Agent resumed(config_, transport_, entropy_, fresh_store, secondary_,
                boot::TrailerGeometry{8, 8, 128});
  resumed.CheckNow(now_);
  const std::string topic(resumed.unique_topic());
  EXPECT_NE(topic, Topic());  // a fresh topic per session
  resumed.OnMessage(
      topic, std::span(reinterpret_cast<const uint8_t*>(Job("1.1.0").data()), Job("1.1.0").size()),
      now_);
  resumed.OnMessage(topic, chunks.back(), now_);
  EXPECT_EQ(resumed.status().granules_present, half + 1);  // nothing fetched twice
  for (const auto& chunk : chunks) resumed.OnMessage(topic, chunk, now_);
  EXPECT_EQ(resumed.status().last_end, SessionEnd::kInstalled);
  EXPECT_EQ(SecondaryBytes(image.size()), image);
}

TEST_F(AgentTest, NoJobBeforeTheTimeoutEndsTheSession) {
  Start();
  now_ = agent_->next_deadline_ms();
  agent_->OnTick(now_);
  EXPECT_EQ(agent_->status().last_end, SessionEnd::kNoJob);
  EXPECT_EQ(agent_->status().state, AgentState::kIdle);
}

// A job document lost on the way costs seconds, not a poll interval; a
// server that is down gets fewer and fewer tries, never fewer than the
// regular checks; the first answer starts the back-off over.
TEST_F(AgentTest, SessionsWithoutAnAnswerAreRetriedSoonBackingOffToTheInterval) {
  config_.check_interval_ms = 60000;
  config_.retry_delay_ms = 2000;
  Rebuild();
  Start();
  std::vector<uint64_t> waits;
  for (int session = 0; session < 8; ++session) {
    ASSERT_EQ(agent_->status().state, AgentState::kAwaitingJob);
    now_ = agent_->next_deadline_ms();  // the job timeout: nothing came
    agent_->OnTick(now_);
    ASSERT_EQ(agent_->status().last_end, SessionEnd::kNoJob);
    waits.push_back(agent_->next_deadline_ms() - now_);
    now_ = agent_->next_deadline_ms();
    agent_->OnTick(now_);
  }
  const uint64_t expected[] = {2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000};
  for (size_t i = 0; i < waits.size(); ++i) {
    EXPECT_LE(waits[i], expected[i]) << "retry " << i;
    EXPECT_GE(waits[i], expected[i] * 9 / 10) << "retry " << i;
  }
  // An answer: the next failure is retried after 2 s again.
  Deliver(Topic(), R"({"Message": "No Update Available"})");
  EXPECT_GE(agent_->next_deadline_ms() - now_, config_.check_interval_ms * 9 / 10);
  now_ = agent_->next_deadline_ms();
  agent_->OnTick(now_);
  now_ = agent_->next_deadline_ms();
  agent_->OnTick(now_);
  ASSERT_EQ(agent_->status().last_end, SessionEnd::kNoJob);
  EXPECT_LE(agent_->next_deadline_ms() - now_, 2000u);
}

// Polling is the fallback to push: every device polls at the interval less
// up to a tenth at random, so a fleet powered on at once spreads out.
TEST_F(AgentTest, PollsSpreadOverTheLastTenthOfTheInterval) {
  std::set<uint64_t> waits;
  for (int session = 0; session < 20; ++session) {
    agent_->CheckNow(now_);
    Deliver(Topic(), R"({"Message": "No Update Available"})");
    const uint64_t wait = agent_->next_deadline_ms() - now_;
    EXPECT_LE(wait, config_.check_interval_ms);
    EXPECT_GE(wait, config_.check_interval_ms * 9 / 10);
    waits.insert(wait);
    now_ = agent_->next_deadline_ms();
  }
  EXPECT_GT(waits.size(), 10u);  // not in step
}

// Results say what became of the update ("Outcome"), and name the version.
TEST_F(AgentTest, AnInstalledImageIsReportedAsPendingWithItsVersion) {
  Start();
  Deliver(Topic(), Job("1.1.0"));
  const std::string topic = Topic();
  for (const auto& chunk : Chunks(SignedImage({1, 1, 0, 0}, 30000), {1, 1, 0, 0})) {
    Deliver(topic, chunk);
  }
  ASSERT_EQ(agent_->status().last_end, SessionEnd::kInstalled);
  const auto requests = Requests();
  ASSERT_EQ(requests.size(), 3u);
  const auto& result = requests[2];
  EXPECT_EQ(result["Message"], "Success");
  EXPECT_EQ(result["Outcome"], "pending");
  EXPECT_EQ(result["Version"], "1.1.0");
  EXPECT_EQ(result["UniqueTopicName"], topic);
  EXPECT_FALSE(result.contains("Reason"));
  // Every value a string (docs/spec/reference-protocol.md#common-rules).
  for (const auto& [k, v] : result.items()) EXPECT_TRUE(v.is_string()) << k;
}

TEST_F(AgentTest, ForgedAndCorruptImagesAreReportedAsRefused) {
  const auto other = host::Key::Generate(host::KeyType::kEcdsaP256);
  auto corrupt = SignedImage({1, 2, 0, 0}, 30000);
  corrupt[0x400 + 1234] ^= 0x01;  // a payload byte: the hash no longer matches
  const std::tuple<std::string, std::vector<uint8_t>, image::ImageVersion> cases[] = {
      {"1.1.0", SignedImage({1, 1, 0, 0}, 30000, &other), {1, 1, 0, 0}},
      {"1.2.0", corrupt, {1, 2, 0, 0}},
  };
  for (const auto& [version, image, v] : cases) {
    SCOPED_TRACE(version);
    agent_->CheckNow(now_);
    const std::string topic = Topic();
    Deliver(topic, Job(version));
    for (const auto& chunk : Chunks(image, v)) Deliver(topic, chunk);
    EXPECT_EQ(agent_->status().last_end, SessionEnd::kVerifyFailed);
    const auto result = Requests().back();
    EXPECT_EQ(result["Message"], "Failure");
    EXPECT_EQ(result["Outcome"], "refused");
    EXPECT_EQ(result["Version"], version);
    EXPECT_EQ(result["UniqueTopicName"], topic);
    ASSERT_TRUE(result.contains("Reason"));
    EXPECT_FALSE(result["Reason"].get<std::string>().empty());
    EXPECT_TRUE(agent_->IsBlocklisted(v));
  }
}

// What the last boot did is told once, at the start of the next session,
// before the device asks for an update.
TEST_F(AgentTest, AConfirmedBootIsReportedOnceAndAcknowledgedBeforeAskingForUpdates) {
  agent_->ReportBoot({BootReportKind::kConfirmed, {1, 1, 0, 7}, ""});
  EXPECT_TRUE(Requests().empty());  // not before the session
  EXPECT_FALSE(agent_->IsBlocklisted({1, 1, 0, 0}));
  Start();
  auto requests = Requests();
  ASSERT_EQ(requests.size(), 1u);  // the report alone, until it is acknowledged
  Ack();
  requests = Requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0]["Message"], "Boot Report");  // not a second "Success" per update
  EXPECT_EQ(requests[0]["Outcome"], "confirmed");
  EXPECT_EQ(requests[0]["Version"], "1.1.0");  // the protocol's three parts: no build
  EXPECT_EQ(requests[0]["UniqueTopicName"], Topic());
  EXPECT_FALSE(requests[0].contains("Reason"));
  EXPECT_EQ(requests[1]["Message"], "Update Availability");
  EXPECT_EQ(requests[1]["UniqueTopicName"], Topic());
  EXPECT_TRUE(transport_.subscriptions.count(Topic()));  // its acknowledgement is heard
  // The next session only asks.
  Deliver(Topic(), R"({"Message": "No Update Available"})");
  ASSERT_EQ(agent_->status().state, AgentState::kIdle);
  agent_->CheckNow(now_);
  requests = Requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[2]["Message"], "Update Availability");
  EXPECT_EQ(requests[2]["UniqueTopicName"], Topic());
}

TEST_F(AgentTest, ARevertedBootIsReportedAndThatVersionIsNeverFetchedAgain) {
  agent_->ReportBoot({BootReportKind::kReverted, {1, 1, 0, 3}, ""});
  EXPECT_TRUE(agent_->IsBlocklisted({1, 1, 0, 0}));
  Start();
  Ack();
  auto requests = Requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0]["Message"], "Boot Report");
  EXPECT_EQ(requests[0]["Outcome"], "reverted");
  EXPECT_EQ(requests[0]["Version"], "1.1.0");
  EXPECT_EQ(requests[0]["UniqueTopicName"], Topic());
  ASSERT_TRUE(requests[0].contains("Reason"));
  EXPECT_FALSE(requests[0]["Reason"].get<std::string>().empty());
  EXPECT_EQ(requests[1]["Message"], "Update Availability");
  // A server that offers it anyway: the session ends, nothing is fetched.
  const std::string topic = Topic();
  Deliver(topic, Job("1.1.0"));
  EXPECT_EQ(agent_->status().state, AgentState::kIdle);
  EXPECT_EQ(agent_->status().last_end, SessionEnd::kBlocklisted);
  EXPECT_FALSE(transport_.subscriptions.count(topic));
  // Pull-style too (mqota-server's job): no chunk requests.
  agent_->CheckNow(now_);
  std::string pull_job = Job("1.1.0");
  pull_job.pop_back();
  pull_job += R"(, "ImageSize": "40000", "ChunkSize": "4096", "ChunkCrc": "crc32c"})";
  Deliver(Topic(), pull_job);
  EXPECT_EQ(agent_->status().last_end, SessionEnd::kBlocklisted);
  requests = Requests();
  ASSERT_EQ(requests.size(), 3u);  // the report (once) and two "Update Availability"
  EXPECT_EQ(requests[2]["Message"], "Update Availability");
  for (const auto& r : requests) {
    EXPECT_NE(r["Message"], "Request Update");
    EXPECT_NE(r["Message"], "Request Data Chunk");
  }
  // A newer version is still welcome.
  agent_->CheckNow(now_);
  Deliver(Topic(), Job("1.2.0"));
  EXPECT_EQ(agent_->status().state, AgentState::kDownloading);
  EXPECT_EQ(Requests().back()["Message"], "Request Update");
}

TEST_F(AgentTest, ARejectedImageIsReportedWithTheBootloadersReason) {
  static constexpr char kWhy[] = "the image's signature is not from a trusted key";
  agent_->ReportBoot({BootReportKind::kRejected, {1, 3, 2, 0}, kWhy});
  EXPECT_TRUE(agent_->IsBlocklisted({1, 3, 2, 0}));
  Start();
  Ack();
  const auto requests = Requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0]["Message"], "Boot Report");
  EXPECT_EQ(requests[0]["Outcome"], "rejected");
  EXPECT_EQ(requests[0]["Version"], "1.3.2");
  EXPECT_EQ(requests[0]["Reason"], kWhy);
  EXPECT_EQ(requests[0]["UniqueTopicName"], Topic());
  EXPECT_EQ(requests[1]["Message"], "Update Availability");
  Deliver(Topic(), Job("1.3.2"));
  EXPECT_EQ(agent_->status().last_end, SessionEnd::kBlocklisted);
  EXPECT_EQ(Requests().size(), 2u);
}

TEST_F(AgentTest, AnAcknowledgementOnTheSessionTopicDoesNotEndTheWait) {
  agent_->ReportBoot({BootReportKind::kConfirmed, {1, 0, 0, 0}, ""});
  Start();
  const std::string topic = Topic();
  const uint32_t ignored = agent_->status().ignored_messages;
  Ack();  // the report's: now the agent asks for a job
  EXPECT_EQ(agent_->status().ignored_messages, ignored);
  ASSERT_EQ(Requests().size(), 2u);
  EXPECT_EQ(Requests().back()["Message"], "Update Availability");
  // A second acknowledgement and other documents that are not jobs.
  Ack();
  Deliver(topic, R"({"Message": "Launch Missiles"})");
  Deliver(topic, R"({"UniqueTopicName": "no Message at all"})");
  EXPECT_EQ(agent_->status().ignored_messages, ignored + 3);
  EXPECT_EQ(agent_->status().state, AgentState::kAwaitingJob);
  EXPECT_EQ(agent_->status().last_end, SessionEnd::kNone);
  EXPECT_EQ(Requests().size(), 2u);  // nothing new
  EXPECT_TRUE(transport_.subscriptions.count(topic));
  // The real job, afterwards: the session goes on to install it.
  Deliver(topic, Job("1.1.0"));
  EXPECT_EQ(agent_->status().state, AgentState::kDownloading);
  EXPECT_EQ(Requests().back()["Message"], "Request Update");
  for (const auto& chunk : Chunks(SignedImage({1, 1, 0, 0}, 20000), {1, 1, 0, 0})) {
    Deliver(topic, chunk);
  }
  EXPECT_EQ(agent_->status().last_end, SessionEnd::kInstalled);
  EXPECT_EQ(Requests().back()["Outcome"], "pending");
}

TEST_F(AgentTest, AnUnacknowledgedReportIsSentAgainNextSessionAtMostThreeTimes) {
  agent_->ReportBoot({BootReportKind::kReverted, {1, 2, 0, 0}, ""});
  Start();  // session 1 begins with the report
  for (int session = 1; session <= 4; ++session) {
    if (session > 1) {
      now_ = agent_->next_deadline_ms();
      agent_->OnTick(now_);  // the next session begins
    }
    if (session <= 3) {
      EXPECT_EQ(Requests().back()["Message"], "Boot Report") << session;
      // No acknowledgement: after the job timeout it asks for a job anyway.
      now_ = agent_->next_deadline_ms();
      agent_->OnTick(now_);
    }
    EXPECT_EQ(Requests().back()["Message"], "Update Availability") << session;
    Deliver(Topic(), R"({"Message": "No Update Available"})");
    ASSERT_EQ(agent_->status().state, AgentState::kIdle) << session;
  }
  int reports = 0;
  for (const auto& r : Requests()) reports += r["Message"] == "Boot Report";
  EXPECT_EQ(reports, 3);
  EXPECT_TRUE(agent_->IsBlocklisted({1, 2, 0, 0}));  // given up telling, not forgotten
}

// Pull mode (a job with ChunkSize and ImageSize, as mqota-server sends it):
// the agent asks for each granule with "Request Data Chunk", `window` at a
// time, and a fake server answers each request as mqota-server does.
TEST_F(PullTest, WindowOfOneCompletesByteExact) {
  config_.window = 1;
  Rebuild();
  Start();
  Deliver(Topic(), PullJob());
  EXPECT_TRUE(agent_->status().pull);
  EXPECT_TRUE(agent_->status().crc);
  ASSERT_EQ(Requests().size(), 2u);  // one request in flight
  const auto first = Requests()[1];
  EXPECT_EQ(first["Message"], "Request Data Chunk");
  EXPECT_EQ(first["Offset"], "0");
  EXPECT_EQ(first["Size"], "4096");
  EXPECT_EQ(first["AcceptChunkCrc"], "crc32c");
  EXPECT_FALSE(first.contains("ChunkCrc"));  // the job's offer is never echoed
  EXPECT_EQ(first["UniqueTopicName"], Topic());
  EXPECT_EQ(first["Version"], "1.0.0");
  // Compact: what mqota-server needs and nothing else (the identity fields
  // of the first request are not repeated 256 times per MiB).
  EXPECT_EQ(first.size(), 6u) << first;
  EXPECT_FALSE(first.contains("BoardName"));
  EXPECT_LT(transport_.published.back().payload.size(), 230u);
  EXPECT_EQ(Serve(), 1u);  // never more than one unanswered
  ExpectInstalled();
  EXPECT_EQ(ChunkRequests(), static_cast<int>(Granules()));  // each granule once
  for (const auto& [offset, count] : asked_) EXPECT_EQ(offset % 4096, 0u);
  EXPECT_EQ(sizes_, std::set<uint32_t>{4096});  // the last, short one too (not "-1": R11)
  EXPECT_EQ(agent_->status().retries, 0u);
  EXPECT_EQ(agent_->status().bad_chunks, 0u);
  for (const auto& r : Requests()) EXPECT_NE(r["Message"], "Request Update");
}

TEST_F(PullTest, WindowOfEightCompletesByteExact) {
  Start();
  Deliver(Topic(), PullJob());
  ASSERT_EQ(Requests().size(), 9u);  // eight requests at once
  for (size_t i = 1; i < 9; ++i) EXPECT_EQ(Requests()[i]["Offset"], std::to_string((i - 1) * 4096));
  EXPECT_EQ(Serve(), 8u);
  ExpectInstalled();
  EXPECT_EQ(ChunkRequests(), static_cast<int>(Granules()));
  EXPECT_EQ(agent_->status().chunk_requests, Granules());
  EXPECT_EQ(agent_->status().granules_at_start, 0u);
}

TEST_F(PullTest, AsksForItsOwnChunkSizeRoundedToTheWriteSize) {
  config_.preferred_chunk_bytes = 1003;  // write size 8: 1000
  config_.window = 100;                  // at most kMaxWindow
  Rebuild();
  Start();
  Deliver(Topic(), PullJob());
  EXPECT_EQ(Requests().size(), 1u + kMaxWindow);
  EXPECT_EQ(Serve(), kMaxWindow);
  ExpectInstalled();
  EXPECT_EQ(sizes_, std::set<uint32_t>{1000});
  EXPECT_EQ(agent_->status().chunk_bytes, 1000u);
  EXPECT_EQ(ChunkRequests(), static_cast<int>((image_.size() + 999) / 1000));
}

TEST_F(PullTest, LargestChunkIs65535RoundedDown) {
  config_.preferred_chunk_bytes = 1 << 20;
  Rebuild();
  Start();
  Deliver(Topic(), PullJob());
  Serve();
  ExpectInstalled();
  EXPECT_EQ(sizes_, std::set<uint32_t>{65528});  // one chunk: the image is smaller
}

TEST_F(PullTest, ADroppedChunkIsAskedForAgainAndOnlyIt) {
  Start();
  Deliver(Topic(), PullJob());
  Serve([](uint32_t offset, int nth) { return offset == 3 * 4096 && nth == 1; });
  EXPECT_EQ(agent_->status().state, AgentState::kDownloading);
  EXPECT_EQ(agent_->status().granules_present, Granules() - 1);
  const size_t before = transport_.published.size();
  // Nothing arrives: at the timeout, one request, for the missing granule.
  now_ = agent_->next_deadline_ms();
  agent_->OnTick(now_);
  ASSERT_EQ(transport_.published.size(), before + 1);
  EXPECT_EQ(Requests().back()["Offset"], std::to_string(3 * 4096));
  Serve();
  ExpectInstalled();
  for (const auto& [offset, count] : asked_) EXPECT_EQ(count, offset == 3 * 4096 ? 2 : 1) << offset;
  EXPECT_EQ(agent_->status().retries, 1u);
}

TEST_F(PullTest, ACorruptedChunkIsRefusedAndAskedForAgain) {
  Start();
  Deliver(Topic(), PullJob());
  Serve(nullptr, [](uint32_t offset, int nth) { return offset == 5 * 4096 && nth == 1; });
  // Asked again at once, without waiting for a timeout.
  ExpectInstalled();
  EXPECT_EQ(agent_->status().crc_errors, 1u);
  EXPECT_EQ(agent_->status().bad_chunks, 1u);
  EXPECT_EQ(agent_->status().retries, 1u);
  for (const auto& [offset, count] : asked_) EXPECT_EQ(count, offset == 5 * 4096 ? 2 : 1) << offset;
}

TEST_F(PullTest, AChunkWithoutItsCrcIsRefused) {
  Start();
  Deliver(Topic(), PullJob());
  ASSERT_TRUE(crc_asked_ || Requests()[1].contains("AcceptChunkCrc"));
  auto chunk = Answer(0, 4096, /*crc=*/false);
  Deliver(Topic(), chunk);  // what a server that ignored AcceptChunkCrc would send
  EXPECT_EQ(agent_->status().crc_errors, 1u);
  EXPECT_EQ(agent_->status().granules_present, 0u);
  chunk = Answer(0, 4096, true);
  chunk.back() ^= 0x80;  // the CRC itself damaged
  Deliver(Topic(), chunk);
  EXPECT_EQ(agent_->status().crc_errors, 2u);
  Serve();
  ExpectInstalled();
}

TEST_F(PullTest, NoCrcUnlessBothSidesAgree) {
  for (const bool offered : {false, true}) {
    SCOPED_TRACE(offered);
    config_.chunk_crc = !offered;  // offered by the server iff the device declines
    Rebuild();
    transport_.published.clear();
    served_ = 0;
    asked_.clear();
    agent_->CheckNow(now_);
    Deliver(Topic(), PullJob(/*crc=*/offered));
    EXPECT_FALSE(agent_->status().crc);
    EXPECT_FALSE(Requests()[1].contains("AcceptChunkCrc"));
    Serve();
    EXPECT_FALSE(crc_asked_);
    EXPECT_EQ(agent_->status().last_end, SessionEnd::kInstalled);
    EXPECT_EQ(SecondaryBytes(image_.size()), image_);
    ASSERT_TRUE(secondary_.Erase(0, secondary_.size_bytes()).ok());
  }
}

TEST_F(PullTest, AReferencePublishersJobStillGetsPush) {
  // No ChunkSize (publisher.py), or no ImageSize: push, as before.
  for (const std::string& job :
       {Job("1.1.0"), PullJob().replace(PullJob().find("\"ImageSize\""), 11, "\"ImageSizeX\"")}) {
    SCOPED_TRACE(job);
    agent_->CheckNow(now_);
    Deliver(Topic(), job);
    EXPECT_FALSE(agent_->status().pull);
    EXPECT_EQ(Requests().back()["Message"], "Request Update");
    for (const auto& chunk : Chunks(image_, {1, 1, 0, 0})) Deliver(Topic(), chunk);
    EXPECT_EQ(agent_->status().last_end, SessionEnd::kInstalled);
    EXPECT_EQ(SecondaryBytes(image_.size()), image_);
    ASSERT_TRUE(secondary_.Erase(0, secondary_.size_bytes()).ok());
    Rebuild();
  }
  // And a window of 0 never pulls.
  config_.window = 0;
  Rebuild();
  agent_->CheckNow(now_);
  Deliver(Topic(), PullJob());
  EXPECT_FALSE(agent_->status().pull);
  EXPECT_EQ(Requests().back()["Message"], "Request Update");
}

TEST_F(PullTest, RetriesBackOffWithJitterAndAreBounded) {
  config_.window = 1;
  config_.max_retries = 6;
  Rebuild();
  Start();
  Deliver(Topic(), PullJob());
  std::vector<uint64_t> sent{now_};
  while (agent_->status().state == AgentState::kDownloading) {
    const size_t before = transport_.published.size();
    now_ = agent_->next_deadline_ms();
    agent_->OnTick(now_);
    if (transport_.published.size() > before) sent.push_back(now_);
  }
  EXPECT_EQ(agent_->status().last_end, SessionEnd::kStalled);
  ASSERT_EQ(sent.size(), 7u);  // the request and 6 retries, all for granule 0
  for (const auto& r : Requests()) {
    if (r["Message"] == "Request Data Chunk") {
      EXPECT_EQ(r["Offset"], "0");
    }
  }
  // 2 s (no measurement yet), then doubling with up to 25% jitter, at most 15 s.
  uint64_t base = 2000;
  for (size_t i = 1; i < sent.size(); ++i) {
    const uint64_t waited = sent[i] - sent[i - 1];
    EXPECT_GE(waited, std::min<uint64_t>(base, 15000)) << i;
    EXPECT_LE(waited, std::min<uint64_t>(base + base / 4, 15000)) << i;
    base *= 2;
  }
  // The journal stays; the next session asks again.
  EXPECT_LE(agent_->next_deadline_ms(), now_ + config_.check_interval_ms);
}

TEST_F(PullTest, TheTimeoutFollowsTheMeasuredRoundTrip) {
  config_.window = 1;
  config_.request_timeout_min_ms = 10;
  Rebuild();
  Start();
  Deliver(Topic(), PullJob());
  EXPECT_EQ(agent_->status().request_timeout_ms, 2000u);
  Serve(nullptr, nullptr, /*answer_after_ms=*/50);
  ExpectInstalled();
  // 15 samples of 50 ms: SRTT 50, RTTVAR decayed from 25 towards 0.
  EXPECT_GE(agent_->status().request_timeout_ms, 50u);
  EXPECT_LE(agent_->status().request_timeout_ms, 60u);
}

TEST_F(PullTest, AReconnectionAsksForWhatIsInFlightAgain) {
  Start();
  Deliver(Topic(), PullJob());
  transport_.subscriptions.clear();
  const size_t before = transport_.published.size();
  agent_->OnConnected(now_);
  EXPECT_TRUE(transport_.subscriptions.count(Topic()));
  EXPECT_EQ(transport_.published.size(), before + 8);
  Serve();
  ExpectInstalled();
}

TEST_F(PullTest, ReconnectionsDoNotSpendTheRetryBudget) {
  config_.window = 1;
  config_.max_retries = 2;
  Rebuild();
  Start();
  Deliver(Topic(), PullJob());
  for (int reconnect = 0; reconnect < 5; ++reconnect) agent_->OnConnected(now_);
  EXPECT_EQ(agent_->status().retries, 0u);
  EXPECT_EQ(agent_->status().state, AgentState::kDownloading);
  Serve();
  ExpectInstalled();
}

TEST_F(PullTest, AServerThatNeverAnswersChunkRequestsGetsPushNextTime) {
  config_.window = 2;
  config_.max_retries = 3;
  Rebuild();
  Start();
  Deliver(Topic(), PullJob());  // offers pull, then never answers
  while (agent_->status().state == AgentState::kDownloading) {
    now_ = agent_->next_deadline_ms();
    agent_->OnTick(now_);
  }
  EXPECT_EQ(agent_->status().last_end, SessionEnd::kStalled);
  EXPECT_TRUE(agent_->status().pull_refused);
  // The next session: the same job, but the device asks for the push flow.
  now_ = agent_->next_deadline_ms();
  agent_->OnTick(now_);
  ASSERT_EQ(agent_->status().state, AgentState::kAwaitingJob);
  const size_t before = Requests().size();
  Deliver(Topic(), PullJob());
  const auto after = Requests();
  ASSERT_EQ(after.size(), before + 1);
  EXPECT_EQ(after.back()["Message"], "Request Update");
  EXPECT_FALSE(agent_->status().pull);
}

TEST_F(PullTest, AStalledPullThatGotChunksStaysPull) {
  config_.window = 1;
  config_.max_retries = 2;
  Rebuild();
  Start();
  Deliver(Topic(), PullJob());
  // Answer the first three requests, then nothing.
  int answered = 0;
  Serve([&](uint32_t, int) { return ++answered > 3; });
  while (agent_->status().state == AgentState::kDownloading) {
    now_ = agent_->next_deadline_ms();
    agent_->OnTick(now_);
    Serve([](uint32_t, int) { return true; });
  }
  EXPECT_EQ(agent_->status().last_end, SessionEnd::kStalled);
  EXPECT_FALSE(agent_->status().pull_refused);
  // It made progress: the next session starts after the first retry delay,
  // not after the poll interval (nor a longer back-off).
  EXPECT_LE(agent_->next_deadline_ms() - now_, config_.retry_delay_ms);
  EXPECT_GE(agent_->next_deadline_ms() - now_, config_.retry_delay_ms * 9 / 10);
}

TEST_F(PullTest, AfterAResetOnlyMissingGranulesAreFetched) {
  Start();
  Deliver(Topic(), PullJob());
  // 10 answers arrive, then the device resets (the other requests are lost).
  int answered = 0;
  Serve([&](uint32_t, int) { return ++answered > 10; });
  const auto before_reset = asked_;
  ASSERT_EQ(agent_->status().granules_present, 10u);
  DownloadStore fresh_store(secondary_, journal_, DownloadLimits{32 * 4096 - 3120}, bitmap_);
  agent_ = std::make_unique<Agent>(config_, transport_, entropy_, fresh_store, secondary_,
                                   boot::TrailerGeometry{8, 8, 128});
  asked_.clear();
  agent_->CheckNow(now_);
  Deliver(Topic(), PullJob());
  EXPECT_EQ(agent_->status().granules_at_start, 10u);
  Serve();
  ExpectInstalled();
  // Exactly the granules that were missing, each once.
  EXPECT_EQ(ChunkRequests(), static_cast<int>(Granules()) - 10);
  for (const auto& [offset, count] : asked_) EXPECT_EQ(count, 1) << offset;
  agent_.reset();  // before fresh_store goes
}

}  // namespace
}  // namespace mqota::agent
