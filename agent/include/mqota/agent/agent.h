// The device OTA agent: an event-driven state machine for the anycloud-ota job
// flow (docs/spec/reference-protocol.md#job-flow), so that an unchanged
// reference publisher can update a mqota device, with what the reference gets
// wrong fixed (docs/spec/reference-protocol.md#known-bugs):
// messages count only on the session's own topic (R4, R17), the unique topic
// is unguessable and per device (R18), every chunk is bounds-checked (R5),
// completion is coverage (R6), the download resumes (R2), the whole image is
// verified before it is marked pending (S2), and a result is always sent
// (R7, R10).
//
// Two ways to download. Push, the reference flow: "Request Update", then the
// server sends every chunk. Pull, negotiated with mqota-server (a job with
// "ChunkSize" and "ImageSize"): the device asks for each missing granule
// with "Request Data Chunk", a window of requests in flight, asks again only
// for what does not come (R3, R11), refuses chunks whose CRC32C is wrong, and
// after a reset asks only for what its journal lacks
// (docs/spec/mqota-protocol.md#windowed-pull).
//
// No heap, no exceptions, no OS calls: the port delivers events (a message,
// a tick, the connection going up or down) with the current time and does
// what the agent asks through Transport. Nothing here blocks.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "mqota/agent/download_store.h"
#include "mqota/agent/job.h"
#include "mqota/agent/patch_applier.h"
#include "mqota/agent/protocol.h"
#include "mqota/boot/trailer.h"
#include "mqota/image/crypto.h"
#include "mqota/image/validate.h"

namespace mqota::agent {

// The MQTT session, owned by the port. Every call only queues: false means it
// could not be queued (not connected, buffer full), never that it failed later.
class Transport {
 public:
  virtual bool Subscribe(std::string_view topic) = 0;  // QoS 1
  virtual bool Unsubscribe(std::string_view topic) = 0;
  virtual bool Publish(std::string_view topic, std::span<const uint8_t> payload) = 0;  // QoS 1

 protected:
  ~Transport() = default;
};

// Randomness for the unique topic: a hardware TRNG on a device, getrandom(2)
// on Linux.
class Entropy {
 public:
  virtual uint64_t Random64() = 0;

 protected:
  ~Entropy() = default;
};

struct DeviceIdentity {
  std::string_view device_id;  // the client certificate's CN; part of the unique topic
  std::string_view board;      // must equal the job's Board
  std::string_view manufacturer = "mqota";
  std::string_view manufacturer_id = "MQOTA";
  std::string_view product_id = "mqota-device";
  std::string_view serial_number;
};

struct AgentConfig {
  std::string_view topic_prefix;  // <P> of "<P>/<B>/publish_notify"
  DeviceIdentity identity;
  image::ImageVersion running_version;
  // The running image's SHA-256 digest (its SHA256 TLV: image::ReadStatedDigest
  // on the primary slot), 32 bytes, or empty when unknown. Told to an
  // mqota-server in "Update Availability" as "ImageSha256", so the fleet
  // knows which build each device runs, not only its version.
  std::span<const uint8_t> running_image_digest;
  std::span<const image::TrustedKey> trusted_keys;
  image::CryptoBackend* crypto = nullptr;
  // The broker the device is connected to: a job naming another is refused
  // (a job must not be able to redirect a device: S6).
  std::string_view broker_host;
  uint16_t broker_port = 0;
  // Timers, in milliseconds.
  uint32_t first_check_delay_ms = 0;
  uint32_t check_interval_ms = 10000;  // between sessions, less up to a tenth at random
  uint32_t job_timeout_ms = 30000;     // wait for the job document
  // After a session the network let down (no job document, or chunks that
  // stopped coming): the next one starts after this, doubled per such
  // session in a row, at most check_interval_ms. 0 = wait for the next check.
  uint32_t retry_delay_ms = 2000;
  // Push mode (the reference flow: a job without "ChunkSize"/"ImageSize"):
  uint32_t chunk_timeout_ms = 15000;  // no new chunk for this long: ask again
  uint32_t max_requests = 3;          // requests per session before giving up (resume later)
  // Pull mode (a job with "ChunkSize" and "ImageSize", as mqota-server sends):
  // one "Request Data Chunk" per missing granule, `window` of them in flight.
  // The "Size" asked for: 0 = the job's ChunkSize. Rounded down to a multiple
  // of the slot's write size and to at most kMaxChunkDataBytes (65535); the
  // device's MQTT receive buffer must hold it plus 36 bytes and the topic.
  // Keep it fixed across resets: a download resumes only with the same size.
  uint32_t preferred_chunk_bytes = 4096;
  uint32_t window = 8;  // 1..kMaxWindow; 0 = never pull (always push)
  // Re-request timeout: from a smoothed round-trip estimate (RFC 6298),
  // bounded; doubled per resend of the same granule, with up to 25% jitter.
  uint32_t request_timeout_initial_ms = 2000;  // before the first measurement
  uint32_t request_timeout_min_ms = 500;
  uint32_t request_timeout_max_ms = 15000;
  // Re-requests per session (timeouts, bad CRCs, resends after a reconnect);
  // beyond it the session ends and its journal stays for the next one.
  uint32_t max_retries = 32;
  bool chunk_crc = true;  // accept the server's "ChunkCrc": "crc32c" offer
  // Delta updates (docs/spec/mqota-protocol.md#patches): with an applier
  // (and the running image's digest, and an mqota-server announced) the
  // device says it takes patches, and pulls one when the job offers it,
  // applying it as it arrives. nullptr: full images only.
  PatchApplier* patches = nullptr;
  // Device topics (docs/spec/mqota-protocol.md#device-topics): when an
  // mqota-server announces itself, ask and report on this device's own
  // request topic, report progress, and check at once when told on the
  // notify topic. After each connection the first session waits up to
  // `announce_wait_ms` for the (retained) announcement; without one it uses
  // the shared request topic, as a reference publisher needs.
  bool device_topics = true;
  uint32_t announce_wait_ms = 1500;
  // Progress on the device topics: every `progress_step_percent` of the
  // download or every `progress_interval_ms`, whichever comes first.
  uint32_t progress_step_percent = 5;
  uint32_t progress_interval_ms = 10000;
};

// Requests in flight at most, in pull mode.
inline constexpr uint32_t kMaxWindow = 32;

enum class AgentState : uint8_t {
  kIdle,         // waiting for the next check
  kAwaitingJob,  // asked "Update Availability", waiting for the job document
  kDownloading,  // asked "Request Update", receiving chunks
  kPending,      // an image is verified and pending: reset to install it
};

const char* Describe(AgentState state);

// Why a session ended without an update (for logs, tests and the result).
enum class SessionEnd : uint8_t {
  kNone,
  kNoJob,     // no job document before the timeout
  kNoUpdate,  // "No Update Available", or a version not newer
  kWrongBoard,
  kBlocklisted,   // a version that failed here before
  kBadJob,        // malformed job document
  kRedirect,      // the job names another broker
  kStalled,       // chunks stopped coming (the download resumes next session)
  kTooLarge,      // the image does not fit the slot
  kVerifyFailed,  // the image did not validate (erased, version blocklisted)
  kFlashError,
  kPatchUnusable,  // the patch could not make the image here: the full image next
  kInstalled,      // verified and pending
};

const char* Describe(SessionEnd end);

struct AgentStatus {
  AgentState state = AgentState::kIdle;
  SessionEnd last_end = SessionEnd::kNone;
  uint32_t sessions_ended = 0;    // a change tells an observer that last_end is new
  image::ImageVersion offered{};  // the job's version
  uint32_t granules_present = 0;
  uint32_t granule_count = 0;
  uint32_t ignored_messages = 0;    // on topics that are not the session's
  uint32_t bad_chunks = 0;          // malformed or not fitting the download
  image::ImageErrc verify_error{};  // when last_end == kVerifyFailed
  // This session's download:
  bool pull = false;                // pull mode (else push)
  bool pull_refused = false;        // a pull session got no chunk at all: push from now on
  bool crc = false;                 // chunks carry a CRC32C
  uint32_t chunk_bytes = 0;         // the granule size
  uint32_t granules_at_start = 0;   // present when it began (resumed from the journal)
  uint32_t chunk_requests = 0;      // "Request Data Chunk" messages sent
  uint32_t retries = 0;             // of which re-requests
  uint32_t crc_errors = 0;          // chunks refused for their CRC (also in bad_chunks)
  uint32_t request_timeout_ms = 0;  // the current re-request timeout (before back-off)
  // Patches (the granule counts above then count the patch's chunks):
  bool patch = false;                  // this session downloads a patch
  uint32_t patch_bytes = 0;            // its size
  uint32_t patch_offset_at_start = 0;  // where it resumed (0: from its start)
  bool patch_refused = false;          // a patch was unusable: full images from now on
  PatchError patch_error{};            // why, when last_end == kPatchUnusable
  // Device topics:
  bool server_announced = false;  // an mqota-server announced itself (retained)
  uint32_t notifications = 0;     // "Check Now" nudges received
  uint32_t progress_reports = 0;  // "Progress" messages sent
};

// What the last boot did with an update, from the bootloader's boot record:
// the application hands it to the agent, which tells the server once.
enum class BootReportKind : uint8_t {
  kConfirmed,    // the new image booted, is healthy and was confirmed
  kReverted,     // the new image was not confirmed: the bootloader went back
  kInterrupted,  // reverted, but because the power failed before it could
                 // confirm itself: not held against the image (no blocklist)
  kRejected,     // the bootloader refused to install the image
};

struct BootReport {
  BootReportKind kind = BootReportKind::kConfirmed;
  image::ImageVersion version{};  // of the image the report is about
  const char* reason = "";        // for kRejected: why (a static string)
};

class Agent {
 public:
  Agent(const AgentConfig& config, Transport& transport, Entropy& entropy, DownloadStore& store,
        const flash::FlashArea& secondary, const boot::TrailerGeometry& trailer);

  // The session starts `first_check_delay_ms` after the first tick.
  void OnTick(uint64_t now_ms);
  void OnMessage(std::string_view topic, std::span<const uint8_t> payload, uint64_t now_ms);
  // After a reconnect the port's subscriptions are gone: the agent renews its own.
  void OnConnected(uint64_t now_ms);

  // Starts a session now (the reference's cy_ota_get_update_now).
  void CheckNow(uint64_t now_ms);

  // When OnTick next needs to run.
  uint64_t next_deadline_ms() const { return deadline_ms_; }
  const AgentStatus& status() const { return status_; }
  std::string_view unique_topic() const { return {unique_topic_.data(), unique_topic_length_}; }
  // True once an image is pending: the application resets when it suits it.
  bool reset_requested() const { return status_.state == AgentState::kPending; }

  // Versions refused for good this run (failed verification, or reverted by
  // the bootloader: the reference loops on those forever, R16).
  void Blocklist(const image::ImageVersion& version);
  bool IsBlocklisted(const image::ImageVersion& version) const;

  // Sends `report` at the start of the next session (as a "Boot Report" with
  // an Outcome) and asks for a job once it is acknowledged ("Result
  // Received") or the job timeout passes; unacknowledged, it is sent again
  // at the next session: until acknowledged to an mqota-server (announced:
  // it acknowledges once the report is on disk), at most 3 times otherwise (a
  // reference publisher never does). A reverted or rejected version is also
  // blocklisted, so the device does not fetch it again (the reference loops
  // forever, R16); an interrupted one is not, so the update is tried again.
  void ReportBoot(const BootReport& report);

 private:
  void StartSession(uint64_t now_ms);
  void EndSession(SessionEnd why, uint64_t now_ms);
  uint32_t NextCheckAfter(SessionEnd why);
  void HandleJob(std::span<const uint8_t> payload, uint64_t now_ms);
  void HandleChunk(std::span<const uint8_t> payload, uint64_t now_ms);
  void HandlePullChunk(std::span<const uint8_t> payload, const ChunkHeader& h,
                       std::span<const uint8_t> data, uint64_t now_ms);
  void StartPull(uint64_t now_ms);
  void FillWindow(uint64_t now_ms);
  bool Resend(size_t slot, uint64_t now_ms);
  void SendChunkRequest(size_t slot, uint64_t now_ms);
  void SampleRoundTrip(uint32_t sample_ms);
  void UpdatePullDeadline(uint64_t now_ms);
  bool InFlight(uint32_t granule) const;
  bool BeginDownload(uint32_t total_size, uint32_t granule, uint64_t now_ms);
  uint32_t PullGranuleBytes() const;
  // Patch sessions (agent_patch.cpp): one request at a time, since the
  // decoder takes the patch in order.
  bool TakesPatches() const;
  void StartPatch(uint64_t now_ms);
  void HandlePatchChunk(std::span<const uint8_t> payload, const ChunkHeader& h,
                        std::span<const uint8_t> data, uint64_t now_ms);
  void EndPatch(const PatchError& error, uint64_t now_ms);
  void FailOnFlash(uint64_t now_ms);
  void FinishDownload(uint64_t now_ms);
  bool MarkPending(uint32_t image_bytes);
  void SendRequest(std::string_view message_text, uint32_t granule = 0);
  void SendResult(bool success, std::string_view outcome, const image::ImageVersion& version,
                  std::string_view reason);
  // A result or boot report: Message, UniqueTopicName, Version, Outcome, and
  // Reason when given.
  void SendOutcome(std::string_view message, std::string_view outcome,
                   const image::ImageVersion& version, std::optional<std::string_view> reason);
  void SendBootReport();
  void MaybeSendProgress(uint64_t now_ms);
  void OnAnnouncement(std::span<const uint8_t> payload);
  void OnNotify(uint64_t now_ms);
  // Whether a session may start now; otherwise it is put off until the
  // announcement comes or its wait ends.
  bool ReadyToAsk(uint64_t now_ms);
  bool UseDeviceTopics() const { return config_.device_topics && status_.server_announced; }
  std::string_view RequestTopic();
  static std::string_view Topic(const std::array<char, 160>& buffer, size_t length) {
    return {buffer.data(), length};
  }

  AgentConfig config_;
  Transport& transport_;
  Entropy& entropy_;
  DownloadStore& store_;
  flash::FlashArea secondary_;
  boot::TrailerGeometry trailer_;
  AgentStatus status_;
  JobDocument job_{};
  bool download_begun_ = false;
  uint32_t total_size_ = 0;
  bool started_ = false;
  uint32_t requests_ = 0;
  uint64_t deadline_ms_ = 0;
  uint32_t failed_sessions_ = 0;  // in a row, let down by the network
  // Pull mode: one slot per request in flight.
  struct Slot {
    bool used = false;
    uint32_t granule = 0;
    uint32_t sends = 0;  // 1 = not re-requested (its round trip can be measured)
    uint64_t sent_ms = 0;
    uint64_t deadline_ms = 0;
  };
  std::array<Slot, kMaxWindow> slots_{};
  uint32_t window_ = 0;
  uint32_t granule_bytes_ = 0;
  uint32_t cursor_ = 0;        // granules before it are present or in flight
  uint32_t patch_offset_ = 0;  // a patch session: the patch byte asked for next
  bool have_rtt_ = false;
  uint32_t srtt_ms_ = 0;
  uint32_t rttvar_ms_ = 0;
  std::array<char, 192> unique_topic_{};
  size_t unique_topic_length_ = 0;
  // Built once from the config ("" when they do not fit: the shared
  // request topic is then used, and no device topic is subscribed).
  std::array<char, 160> request_topic_{};
  std::array<char, 160> device_request_topic_{};
  std::array<char, 160> notify_topic_{};
  std::array<char, 160> announce_topic_{};
  size_t request_topic_length_ = 0;
  size_t device_request_topic_length_ = 0;
  size_t notify_topic_length_ = 0;
  size_t announce_topic_length_ = 0;
  uint64_t connected_at_ms_ = 0;
  bool connected_once_ = false;  // OnConnected was called: the port has a broker
  bool check_waiting_ = false;   // a session was put off until the announcement
  uint32_t progress_percent_sent_ = 0;
  uint64_t progress_sent_ms_ = 0;
  std::array<image::ImageVersion, 8> blocklist_{};
  size_t blocklist_size_ = 0;
  static constexpr uint8_t kMaxBootReportSends = 3;
  bool have_boot_report_ = false;
  bool awaiting_report_ack_ = false;  // the report is out, "Result Received" not yet in
  uint8_t boot_report_sends_ = 0;
  BootReport boot_report_{};
};

}  // namespace mqota::agent
