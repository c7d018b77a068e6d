// Patch sessions (docs/spec/mqota-protocol.md#patches): the device says it
// takes patches, the job offers one from its running image, the agent pulls
// the patch, applies it into the secondary slot and marks the image pending;
// a patch that does not fit the running image falls back to the full image;
// and a power cut at any flash operation of a patched download resumes at
// the last block, fetching at most one block's patch bytes again.
#include <gtest/gtest.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "agent_fixture.h"
#include "mqota/agent/agent.h"
#include "mqota/agent/patch_applier.h"
#include "mqota/agent/protocol.h"
#include "mqota/boot/trailer.h"
#include "mqota/host/delta_encoder.h"
#include "mqota/host/keys.h"
#include "mqota/host/signer.h"
#include "mqota/image/digest.h"
#include "mqota/image/image_source.h"
#include "mqota/ports/mbedtls/mbedtls_crypto.h"
#include "mqota/testing/files.h"
#include "mqota/testing/random_bytes.h"

namespace mqota::agent {
namespace {

using fixture::CountingEntropy;
using fixture::FakeTransport;
using fixture::kAnnouncement;
using fixture::kAnnounceTopic;
using fixture::kBoard;
using fixture::kDeviceRequestTopic;

constexpr uint32_t kSector = 4096;
constexpr uint32_t kSlotSectors = 32;
constexpr uint32_t kSlotBytes = kSlotSectors * kSector;
constexpr boot::TrailerGeometry kTrailer{8, 8, 128};
constexpr uint32_t kUsable = kSlotBytes - 3120;

std::string Hex(std::span<const uint8_t> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (uint8_t b : bytes) {
    out += kDigits[b >> 4];
    out += kDigits[b & 0xf];
  }
  return out;
}

std::vector<uint8_t> Sha256(std::span<const uint8_t> bytes) {
  ports::MbedtlsCrypto crypto;
  std::vector<uint8_t> digest(32);
  crypto.Sha256Start();
  crypto.Sha256Update(bytes);
  crypto.Sha256Finish(std::span<uint8_t, 32>(digest.data(), 32));
  return digest;
}

// A payload and its next release: bytes changed here and there, a few
// inserted (everything after moves), some appended.
std::vector<uint8_t> NextRelease(std::vector<uint8_t> payload) {
  for (size_t i = 97; i < payload.size(); i += 1531) payload[i] ^= 0x5a;
  const auto inserted = mqota::testing::PseudoRandomBytes(40, 3);
  payload.insert(payload.begin() + static_cast<std::ptrdiff_t>(payload.size() / 3),
                 inserted.begin(), inserted.end());
  const auto tail = mqota::testing::PseudoRandomBytes(900, 4);
  payload.insert(payload.end(), tail.begin(), tail.end());
  return payload;
}

// `image` at the start of `area`, its tail padded with the erased value to
// the write size (8).
bool WriteImage(const flash::FlashArea& area, std::vector<uint8_t> image) {
  image.resize((image.size() + 7) / 8 * 8, 0xff);
  return area.Erase(0, area.size_bytes()).ok() && area.Write(0, image).ok();
}

// The flash of one device: primary, secondary and journal on one chip that
// outlives the device's "reboots".
class Chip {
 public:
  Chip()
      : runs_{{{2 * kSlotSectors + 2, kSector}}},
        chip_({runs_, 8, 0xff}),
        primary_(chip_.model(), 0, kSlotBytes),
        secondary_(chip_.model(), kSlotBytes, kSlotBytes),
        journal_(chip_.model(), 2 * kSlotBytes, 2 * kSector) {}

  flash::NorFlashModel& model() { return chip_.model(); }
  const flash::FlashArea& primary() const { return primary_; }
  const flash::FlashArea& secondary() const { return secondary_; }
  const flash::FlashArea& journal() const { return journal_; }
  std::vector<uint8_t> SecondaryBytes(size_t n) const {
    std::vector<uint8_t> bytes(n);
    EXPECT_TRUE(secondary_.Read(0, bytes).ok());
    return bytes;
  }

 private:
  std::array<flash::SectorRun, 1> runs_;
  flash::testing::OwnedNorFlash chip_;
  flash::FlashArea primary_;
  flash::FlashArea secondary_;
  flash::FlashArea journal_;
};

// One boot of the device: its agent, store and patch applier, built anew
// over the chip after each power cut.
class Device {
 public:
  Device(Chip& chip, std::span<const uint8_t> running_digest,
         std::span<const image::TrustedKey> keys, bool takes_patches, uint32_t chunk_bytes = 4096)
      : store_(chip.secondary(), chip.journal(), DownloadLimits{kUsable}, bitmap_),
        applier_(chip.primary(), chip.secondary(), crypto_) {
    config_.topic_prefix = "mqota";
    config_.identity.device_id = "dev-1";
    config_.identity.board = kBoard;
    config_.running_version = {1, 0, 0, 0};
    config_.running_image_digest = running_digest;
    config_.trusted_keys = keys;
    config_.crypto = &crypto_;
    config_.broker_host = "127.0.0.1";
    config_.broker_port = 8883;
    config_.patches = takes_patches ? &applier_ : nullptr;
    config_.preferred_chunk_bytes = chunk_bytes;
    agent_ =
        std::make_unique<Agent>(config_, transport, entropy_, store_, chip.secondary(), kTrailer);
  }

  // Connected, the server announced: the first session starts at once.
  void Boot(uint64_t now) {
    agent_->OnConnected(now);
    const std::string a = kAnnouncement;
    agent_->OnMessage(kAnnounceTopic,
                      std::span(reinterpret_cast<const uint8_t*>(a.data()), a.size()), now);
    agent_->OnTick(now);
  }

  Agent& agent() { return *agent_; }
  FakeTransport transport;

 private:
  std::array<uint8_t, 64> bitmap_{};
  ports::MbedtlsCrypto crypto_;
  DownloadStore store_;
  DeltaPatchApplier applier_;
  AgentConfig config_;
  CountingEntropy entropy_;
  std::unique_ptr<Agent> agent_;
};

// mqota-server's side of the exchange, in memory: it offers the patch to a
// device that accepts patches (unless told not to) and serves whichever the
// device asks for.
class Server {
 public:
  Server(std::vector<uint8_t> image, std::vector<uint8_t> patch, std::vector<uint8_t> image_digest)
      : image_(std::move(image)),
        patch_(std::move(patch)),
        image_digest_(std::move(image_digest)) {}

  // Answers every message the device published since the last call, and the
  // ones those answers bring, until it is quiet (bounded).
  void Serve(Device& device, uint64_t now) {
    for (int round = 0; round < 10000 && handled_ < device.transport.published.size(); ++round) {
      const Message m = device.transport.published[handled_++];
      if (m.topic != kDeviceRequestTopic) continue;
      Answer(device, nlohmann::json::parse(m.payload), now);
    }
  }

  // The device booted again: its messages start over.
  void Rebooted() { handled_ = 0; }

  std::vector<nlohmann::json> availability;  // the device's "Update Availability" requests
  std::vector<uint32_t> patch_offsets;       // the patch offsets it asked for, in order
  size_t image_requests = 0;                 // chunk requests for the full image
  std::vector<nlohmann::json> results;
  size_t patch_bytes_sent = 0;

 private:
  using Message = fixture::Message;

  void Send(Device& device, const std::string& topic, std::span<const uint8_t> bytes,
            uint64_t now) {
    device.agent().OnMessage(topic, bytes, now);
  }
  void SendText(Device& device, const std::string& topic, const std::string& text, uint64_t now) {
    Send(device, topic, std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()), now);
  }

  void Answer(Device& device, const nlohmann::json& m, uint64_t now) {
    const std::string message = m["Message"];
    const std::string topic = m["UniqueTopicName"];
    if (message == "Update Availability") {
      availability.push_back(m);
      nlohmann::ordered_json job = {{"Message", "Update Available"},
                                    {"Board", kBoard},
                                    {"Version", "1.1.0"},
                                    {"Connection", "MQTT"},
                                    {"Broker", ""},
                                    {"Port", "8883"},
                                    {"UniqueTopicName", topic},
                                    {"ImageSize", std::to_string(image_.size())},
                                    {"ChunkSize", "4096"},
                                    {"ImageSha256", Hex(image_digest_)}};
      if (m.value("AcceptPatch", "") == "mqota-delta-2") {
        job["PatchSize"] = std::to_string(patch_.size());
        job["PatchSha256"] = Hex(Sha256(patch_));
      }
      return SendText(device, topic, job.dump(), now);
    }
    if (message == "Request Data Chunk") {
      const bool patch = m.contains("PatchSha256");
      if (patch) {
        EXPECT_EQ(m["PatchSha256"], Hex(Sha256(patch_)));
      }
      const std::vector<uint8_t>& file = patch ? patch_ : image_;
      const auto offset = static_cast<uint32_t>(std::stoul(m["Offset"].get<std::string>()));
      const auto size = static_cast<uint32_t>(std::stoul(m["Size"].get<std::string>()));
      if (patch) {
        patch_offsets.push_back(offset);
      } else {
        ++image_requests;
      }
      if (offset >= file.size()) return;
      ChunkHeader h;
      h.version_major = 1;
      h.version_minor = 1;
      h.version_build = 0;
      h.total_size = static_cast<uint32_t>(file.size());
      h.image_offset = offset;
      h.data_size = static_cast<uint16_t>(std::min<size_t>(size, file.size() - offset));
      h.total_num_payloads = static_cast<uint16_t>((file.size() + size - 1) / size);
      h.this_payload_index = static_cast<uint16_t>(offset / size);
      std::vector<uint8_t> payload(kChunkHeaderBytes);
      EncodeChunkHeader(h,
                        std::span<uint8_t, kChunkHeaderBytes>(payload.data(), kChunkHeaderBytes));
      payload.insert(payload.end(), file.begin() + offset, file.begin() + offset + h.data_size);
      if (patch) patch_bytes_sent += h.data_size;
      return Send(device, topic, payload, now);
    }
    if (message == "Success" || message == "Failure") {
      results.push_back(m);
      SendText(device, topic,
               R"({"Message": "Result Received", "UniqueTopicName": ")" + topic + R"("})", now);
    }
  }

  std::vector<uint8_t> image_;
  std::vector<uint8_t> patch_;
  std::vector<uint8_t> image_digest_;
  size_t handled_ = 0;
};

class PatchSessionTest : public ::testing::Test {
 protected:
  PatchSessionTest()
      : key_(host::Key::Load(mqota::testing::VectorPath("ecdsa-p256-test-key.pem").string())),
        key_der_(key_.PublicKeyDer()),
        trusted_{{image::SignatureType::kEcdsaP256, key_der_}},
        old_payload_(mqota::testing::PseudoRandomBytes(40000, 11)),
        old_(Sign(old_payload_, {1, 0, 0, 0})),
        new_(Sign(NextRelease(old_payload_), {1, 1, 0, 0})) {
    host::DeltaOptions options;
    options.block_bytes = kSector;
    options.source_version = {1, 0, 0, 0};
    options.target_version = {1, 1, 0, 0};
    patch_ = host::MakeDeltaPatch(old_, new_, options);
  }

  std::vector<uint8_t> Sign(const std::vector<uint8_t>& payload, image::ImageVersion v) {
    host::SignOptions o;
    o.header_size = 0x400;
    o.pad_header = true;
    o.version = v;
    o.align = 8;
    o.slot_size = kSlotBytes;
    return host::BuildSignedImage(payload, o, &key_);
  }

  // The running image in the primary slot, and its stated digest.
  void Install(Chip& chip, const std::vector<uint8_t>& image) {
    ASSERT_TRUE(WriteImage(chip.primary(), image));
    image::FlashImageSource source(chip.primary());
    const auto digest = image::ReadStatedDigest(source);
    ASSERT_TRUE(digest.ok());
    running_digest_.assign(digest->begin(), digest->end());
  }

  std::vector<uint8_t> StatedDigest(const std::vector<uint8_t>& image) {
    Chip scratch;
    EXPECT_TRUE(WriteImage(scratch.secondary(), image));
    image::FlashImageSource source(scratch.secondary());
    const auto digest = image::ReadStatedDigest(source);
    return {digest->begin(), digest->end()};
  }

  // Runs the device against the server until a session ends; returns how.
  SessionEnd RunSession(Device& device, Server& server, uint64_t& now) {
    const uint32_t ended = device.agent().status().sessions_ended;
    for (int step = 0; step < 200 && device.agent().status().sessions_ended == ended; ++step) {
      server.Serve(device, now);
      if (device.agent().status().sessions_ended != ended) break;
      now = std::max(now + 1, device.agent().next_deadline_ms());
      device.agent().OnTick(now);
    }
    EXPECT_NE(device.agent().status().sessions_ended, ended) << "the session did not end";
    return device.agent().status().last_end;
  }

  void ExpectPending(Chip& chip) {
    EXPECT_EQ(chip.SecondaryBytes(new_.size()), new_);
    const auto trailer = boot::Trailer(chip.secondary(), kTrailer).Read();
    ASSERT_TRUE(trailer.ok());
    EXPECT_EQ(trailer->magic, boot::MagicState::kGood);
  }

  host::Key key_;
  std::vector<uint8_t> key_der_;
  image::TrustedKey trusted_[1];
  std::vector<uint8_t> old_payload_;
  std::vector<uint8_t> old_;
  std::vector<uint8_t> new_;
  std::vector<uint8_t> patch_;
  std::vector<uint8_t> running_digest_;
};

TEST_F(PatchSessionTest, APatchIsPulledInOrderAppliedAndItsImageMarkedPending) {
  ASSERT_LT(patch_.size() * 10, new_.size()) << "the test's release should patch small";
  Chip chip;
  Install(chip, old_);
  Server server(new_, patch_, StatedDigest(new_));
  Device device(chip, running_digest_, trusted_, /*takes_patches=*/true);
  uint64_t now = 1000;
  device.Boot(now);

  EXPECT_EQ(RunSession(device, server, now), SessionEnd::kInstalled);
  ASSERT_EQ(server.availability.size(), 1u);
  EXPECT_EQ(server.availability[0]["AcceptPatch"], "mqota-delta-2");
  EXPECT_EQ(server.availability[0]["ImageSha256"], Hex(running_digest_));
  EXPECT_EQ(server.image_requests, 0u);
  // In order, each from where the last ended, and nothing twice.
  ASSERT_FALSE(server.patch_offsets.empty());
  for (size_t i = 0; i < server.patch_offsets.size(); ++i) {
    EXPECT_EQ(server.patch_offsets[i], i * 4096) << i;
  }
  EXPECT_EQ(server.patch_bytes_sent, patch_.size());
  EXPECT_TRUE(device.agent().status().patch);
  ASSERT_EQ(server.results.size(), 1u);
  EXPECT_EQ(server.results[0]["Outcome"], "pending");
  ExpectPending(chip);
}

TEST_F(PatchSessionTest, APatchFromAnotherImageFallsBackToTheFullImage) {
  Chip chip;
  // The device runs a build of 1.0.0 the patch was not made from.
  auto other = old_payload_;
  other[5000] ^= 1;
  Install(chip, Sign(other, {1, 0, 0, 0}));
  Server server(new_, patch_, StatedDigest(new_));
  Device device(chip, running_digest_, trusted_, /*takes_patches=*/true);
  uint64_t now = 1000;
  device.Boot(now);

  EXPECT_EQ(RunSession(device, server, now), SessionEnd::kPatchUnusable);
  EXPECT_EQ(device.agent().status().patch_error.code, PatchErrc::kUnusable);
  EXPECT_EQ(device.agent().status().patch_error.delta, delta::DeltaErrc::kSourceMismatch);
  // Nothing of the patch was written: its source check comes first.
  EXPECT_EQ(server.patch_offsets.size(), 1u);
  EXPECT_TRUE(server.results.empty());

  // The next session comes soon, without "AcceptPatch", and takes the image.
  const uint64_t ended_at = now;
  EXPECT_EQ(RunSession(device, server, now), SessionEnd::kInstalled);
  EXPECT_LE(device.agent().next_deadline_ms(), ended_at + 5000);
  ASSERT_EQ(server.availability.size(), 2u);
  EXPECT_FALSE(server.availability[1].contains("AcceptPatch"));
  EXPECT_GT(server.image_requests, 0u);
  ExpectPending(chip);
}

TEST_F(PatchSessionTest, ADeviceWithoutAnApplierNeverSaysItTakesPatches) {
  Chip chip;
  Install(chip, old_);
  Server server(new_, patch_, StatedDigest(new_));
  Device device(chip, running_digest_, trusted_, /*takes_patches=*/false);
  uint64_t now = 1000;
  device.Boot(now);
  EXPECT_EQ(RunSession(device, server, now), SessionEnd::kInstalled);
  EXPECT_FALSE(server.availability.at(0).contains("AcceptPatch"));
  EXPECT_TRUE(server.patch_offsets.empty());
  ExpectPending(chip);
}

class PatchPowerCut : public PatchSessionTest,
                      public ::testing::WithParamInterface<flash::TearMode> {};

// A cut at every flash operation of a patched download, clean and torn: the
// device boots again over the same flash and the next session resumes at the
// journal's checkpoint (never from the patch's start once a block is done),
// fetches again at most one block's patch bytes (plus the rest of the
// chunk the cut fell in), and ends with the exact image pending.
TEST_P(PatchPowerCut, ResumesAtTheLastBlockAfterACutAtEveryFlashOperation) {
  // Small chunks, so that the patch takes many requests and a resume starts
  // in its middle.
  constexpr uint32_t kCutChunkBytes = 128;
  ASSERT_GT(patch_.size(), 6 * kCutChunkBytes);
  // The largest block's encoding: what a cut may cost.
  const auto header = host::ReadPatchHeader(patch_);
  ASSERT_TRUE(header.ok());
  ASSERT_GE(header->block_count, 5u);
  uint32_t total_ops = 0;
  {
    Chip chip;
    Install(chip, old_);
    Server server(new_, patch_, StatedDigest(new_));
    Device device(chip, running_digest_, trusted_, true, kCutChunkBytes);
    chip.model().ResetCounters();
    uint64_t now = 1000;
    device.Boot(now);
    ASSERT_EQ(RunSession(device, server, now), SessionEnd::kInstalled);
    total_ops = chip.model().operations();
  }
  ASSERT_GT(total_ops, header->block_count * 2);
  size_t worst_refetch = 0;
  for (uint32_t k = 0; k < total_ops; ++k) {
    const std::string id = "cut after " + std::to_string(k) + " of " + std::to_string(total_ops);
    Chip chip;
    Install(chip, old_);
    Server server(new_, patch_, StatedDigest(new_));
    uint64_t now = 1000;
    std::optional<SessionEnd> first;
    {
      Device device(chip, running_digest_, trusted_, true, kCutChunkBytes);
      chip.model().ResetCounters();
      chip.model().CutPowerAfter(k, GetParam(), k + 1);
      device.Boot(now);
      first = RunSession(device, server, now);
    }
    chip.model().PowerOn();
    if (*first == SessionEnd::kInstalled) {  // the cut fell after SetPending
      ExpectPending(chip);
      continue;
    }
    const size_t sent_before = server.patch_bytes_sent;
    const size_t offsets_before = server.patch_offsets.size();
    Device rebooted(chip, running_digest_, trusted_, true, kCutChunkBytes);
    server.Rebooted();
    now += 60000;
    rebooted.Boot(now);
    SessionEnd end = RunSession(rebooted, server, now);
    for (int again = 0; again < 3 && end != SessionEnd::kInstalled; ++again) {
      end = RunSession(rebooted, server, now);
    }
    ASSERT_EQ(end, SessionEnd::kInstalled) << id << ": " << Describe(end);
    ExpectPending(chip);
    ASSERT_GT(server.patch_offsets.size(), offsets_before) << id;
    const uint32_t resumed_at = server.patch_offsets[offsets_before];
    // Everything the first boot was sent past the resume point came again.
    const size_t refetched = sent_before > resumed_at ? sent_before - resumed_at : 0;
    worst_refetch = std::max(worst_refetch, refetched);
    // One block's patch bytes (its target bytes, plus framing when stored)
    // and the rest of the chunk the cut fell in.
    EXPECT_LE(refetched, header->block_bytes + 64u + kCutChunkBytes) << id;
    EXPECT_EQ(server.patch_bytes_sent - sent_before, patch_.size() - resumed_at) << id;
  }
  std::printf("measure agent.patch_power_cut.cuts %u worst_refetched_bytes %zu patch_bytes %zu\n",
              total_ops, worst_refetch, patch_.size());
  EXPECT_LT(worst_refetch, patch_.size()) << "no cut may restart the patch once a block is done";
}

INSTANTIATE_TEST_SUITE_P(Tears, PatchPowerCut,
                         ::testing::Values(flash::TearMode::kNone, flash::TearMode::kPrefix,
                                           flash::TearMode::kRandom),
                         [](const auto& param_info) {
                           switch (param_info.param) {
                             case flash::TearMode::kNone: return std::string("Clean");
                             case flash::TearMode::kPrefix: return std::string("TornPrefix");
                             default: return std::string("TornRandom");
                           }
                         });

}  // namespace
}  // namespace mqota::agent
