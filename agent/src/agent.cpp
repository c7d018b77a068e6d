#include "mqota/agent/agent.h"

#include <algorithm>
#include <initializer_list>

#include "mqota/agent/json.h"
#include "mqota/agent/protocol.h"
#include "mqota/base/decimal.h"
#include "mqota/boot/app_api.h"
#include "mqota/image/version.h"

namespace mqota::agent {
namespace {

// Appends `part` to `out` at `length`; false when it does not fit.
template <size_t N>
bool Append(std::array<char, N>& out, size_t& length, std::string_view part) {
  if (part.size() > N - 1 - length) return false;
  std::copy(part.begin(), part.end(), out.begin() + static_cast<long>(length));
  length += part.size();
  out[length] = '\0';
  return true;
}

bool SameProtocolVersion(const image::ImageVersion& a, const image::ImageVersion& b) {
  return a.major == b.major && a.minor == b.minor && a.revision == b.revision;
}

uint32_t Clamp(uint64_t value, uint32_t low, uint32_t high) {
  return static_cast<uint32_t>(std::max<uint64_t>(low, std::min<uint64_t>(value, high)));
}

constexpr size_t kNoSlot = kMaxWindow;

// A SHA-256 digest as 64 lower-case hex digits, as the protocol writes them.
std::string_view HexText(std::span<const uint8_t, image::kSha256DigestBytes> digest,
                         std::array<char, 2 * image::kSha256DigestBytes>& out) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (size_t i = 0; i < digest.size(); ++i) {
    out[2 * i] = kHex[digest[i] >> 4];
    out[2 * i + 1] = kHex[digest[i] & 0xf];
  }
  return {out.data(), out.size()};
}

// Joins `parts` into `out`; the length, or 0 when they do not fit.
template <size_t N>
size_t Join(std::array<char, N>& out, std::initializer_list<std::string_view> parts) {
  size_t n = 0;
  for (std::string_view part : parts) {
    if (!Append(out, n, part)) return 0;
  }
  return n;
}

// The announcement is {"Message": "mqota-server", ...}; an empty payload (the
// retained message cleared: the server stopped) or anything else is not one.
class AnnouncementReader final : public JsonMemberVisitor {
 public:
  void OnMember(const JsonMember& member) override {
    if (KeyEquals(member.key, key::kMessage)) {
      is_announcement_ =
          member.type == JsonType::kString && member.value == message::kServerAnnouncement;
    }
  }
  bool is_announcement() const { return is_announcement_; }

 private:
  bool is_announcement_ = false;
};

}  // namespace

const char* Describe(AgentState state) {
  switch (state) {
    case AgentState::kIdle: return "idle";
    case AgentState::kAwaitingJob: return "awaiting job";
    case AgentState::kDownloading: return "downloading";
    case AgentState::kPending: return "update pending";
  }
  return "?";
}

const char* Describe(SessionEnd end) {
  switch (end) {
    case SessionEnd::kNone: return "none";
    case SessionEnd::kNoJob: return "no job document before the timeout";
    case SessionEnd::kNoUpdate: return "no newer version";
    case SessionEnd::kWrongBoard: return "the job is for another board";
    case SessionEnd::kBlocklisted: return "the offered version failed here before";
    case SessionEnd::kBadJob: return "malformed job document";
    case SessionEnd::kRedirect: return "the job names another broker";
    case SessionEnd::kStalled: return "chunks stopped coming";
    case SessionEnd::kTooLarge: return "the image does not fit the slot";
    case SessionEnd::kVerifyFailed: return "the image failed verification";
    case SessionEnd::kFlashError: return "a flash operation failed";
    case SessionEnd::kPatchUnusable: return "the patch could not make the image here";
    case SessionEnd::kInstalled: return "update verified and pending";
  }
  return "?";
}

Agent::Agent(const AgentConfig& config, Transport& transport, Entropy& entropy,
             DownloadStore& store, const flash::FlashArea& secondary,
             const boot::TrailerGeometry& trailer)
    : config_(config),
      transport_(transport),
      entropy_(entropy),
      store_(store),
      secondary_(secondary),
      trailer_(trailer) {
  const std::string_view prefix = config_.topic_prefix;
  const std::string_view board = config_.identity.board;
  const std::string_view id = config_.identity.device_id;
  request_topic_length_ = Join(request_topic_, {prefix, "/", board, "/", kRequestTopicLeaf});
  if (!config_.device_topics || id.empty()) return;
  device_request_topic_length_ =
      Join(device_request_topic_,
           {prefix, "/", board, "/", kDeviceTopicPart, "/", id, "/", kDeviceRequestLeaf});
  notify_topic_length_ = Join(
      notify_topic_, {prefix, "/", board, "/", kDeviceTopicPart, "/", id, "/", kDeviceNotifyLeaf});
  announce_topic_length_ = Join(announce_topic_, {prefix, "/", kServerAnnounce});
  if (device_request_topic_length_ == 0 || notify_topic_length_ == 0 ||
      announce_topic_length_ == 0) {
    device_request_topic_length_ = notify_topic_length_ = announce_topic_length_ = 0;
  }
}

std::string_view Agent::RequestTopic() {
  if (UseDeviceTopics() && device_request_topic_length_ != 0) {
    return Topic(device_request_topic_, device_request_topic_length_);
  }
  return Topic(request_topic_, request_topic_length_);
}

bool Agent::ReadyToAsk(uint64_t now_ms) {
  if (announce_topic_length_ == 0 || status_.server_announced || !connected_once_) return true;
  const uint64_t until = connected_at_ms_ + config_.announce_wait_ms;
  if (now_ms >= until) return true;
  check_waiting_ = true;
  deadline_ms_ = until;
  return false;
}

void Agent::OnTick(uint64_t now_ms) {
  if (!started_) {
    started_ = true;
    deadline_ms_ = now_ms + config_.first_check_delay_ms;
  }
  if (now_ms < deadline_ms_) return;
  switch (status_.state) {
    case AgentState::kIdle:
      if (ReadyToAsk(now_ms)) StartSession(now_ms);
      break;
    case AgentState::kAwaitingJob:
      if (awaiting_report_ack_) {  // no acknowledgement: ask for the job anyway
        awaiting_report_ack_ = false;
        SendRequest(message::kUpdateAvailability);
        deadline_ms_ = now_ms + config_.job_timeout_ms;
        break;
      }
      EndSession(SessionEnd::kNoJob, now_ms);
      break;
    case AgentState::kDownloading:
      if (status_.pull) {
        // Requests unanswered within their timeout: ask for those granules
        // again, and only those.
        for (size_t i = 0; i < window_; ++i) {
          if (slots_[i].used && slots_[i].deadline_ms <= now_ms && !Resend(i, now_ms)) return;
        }
        UpdatePullDeadline(now_ms);
        break;
      }
      // Nothing new for a while: ask again (a push-mode server resends the
      // image, duplicates are skipped), a bounded number of times; then give
      // up this session and keep the journal, so the next one resumes.
      if (requests_ < config_.max_requests) {
        SendRequest(message::kRequestUpdate);
        deadline_ms_ = now_ms + config_.chunk_timeout_ms;
      } else {
        EndSession(SessionEnd::kStalled, now_ms);
      }
      break;
    case AgentState::kPending: break;
  }
}

void Agent::CheckNow(uint64_t now_ms) {
  started_ = true;
  if (status_.state == AgentState::kIdle && ReadyToAsk(now_ms)) StartSession(now_ms);
}

void Agent::OnConnected(uint64_t now_ms) {
  // The announcement is retained: it comes again with every subscription.
  // What was last heard stands until then (a server that stopped meanwhile
  // cleared it, and the broker says so when it comes back).
  connected_once_ = true;
  connected_at_ms_ = now_ms;
  if (announce_topic_length_ != 0) {
    transport_.Subscribe(Topic(announce_topic_, announce_topic_length_));
    transport_.Subscribe(Topic(notify_topic_, notify_topic_length_));
  }
  if (status_.state == AgentState::kAwaitingJob || status_.state == AgentState::kDownloading) {
    transport_.Subscribe(unique_topic());
  }
  // Answers sent while the connection was down are lost (a clean session):
  // ask for what is in flight again, after the subscription. Not from the
  // retry budget: the server did nothing wrong, and a long broker outage
  // with a few reconnects must not end a download that then works.
  if (status_.state == AgentState::kDownloading && status_.pull) {
    for (size_t i = 0; i < window_; ++i) {
      if (slots_[i].used) SendChunkRequest(i, now_ms);
    }
    UpdatePullDeadline(now_ms);
  }
}

// A fresh, unguessable topic per session, under the device's own subtree so
// the broker's ACL can keep other devices out (R18, S1).
void Agent::StartSession(uint64_t now_ms) {
  static constexpr char kHex[] = "0123456789abcdef";
  const uint64_t nonce = entropy_.Random64();
  std::array<char, 17> nonce_text{};
  for (int i = 0; i < 16; ++i) nonce_text[i] = kHex[(nonce >> (60 - 4 * i)) & 0xf];
  size_t n = 0;
  const bool fits =
      Append(unique_topic_, n, config_.topic_prefix) && Append(unique_topic_, n, "/") &&
      Append(unique_topic_, n, config_.identity.board) && Append(unique_topic_, n, "/") &&
      Append(unique_topic_, n, kUniqueTopicPart) && Append(unique_topic_, n, "/") &&
      Append(unique_topic_, n, config_.identity.device_id) && Append(unique_topic_, n, "/") &&
      Append(unique_topic_, n, std::string_view(nonce_text.data(), 16));
  unique_topic_length_ = fits ? n : 0;
  status_.last_end = SessionEnd::kNone;
  status_.pull = false;
  status_.crc = false;
  status_.chunk_bytes = 0;
  status_.granules_at_start = 0;
  status_.chunk_requests = 0;
  status_.retries = 0;
  status_.crc_errors = 0;
  status_.patch = false;
  status_.patch_bytes = 0;
  status_.patch_offset_at_start = 0;
  status_.request_timeout_ms =
      Clamp(config_.request_timeout_initial_ms, config_.request_timeout_min_ms,
            config_.request_timeout_max_ms);
  have_rtt_ = false;
  download_begun_ = false;
  requests_ = 0;
  // Subscribe before asking, so the answer cannot arrive unheard.
  transport_.Subscribe(unique_topic());
  status_.state = AgentState::kAwaitingJob;
  deadline_ms_ = now_ms + config_.job_timeout_ms;
  check_waiting_ = false;
  progress_percent_sent_ = 0;
  progress_sent_ms_ = now_ms;
  // A boot report first, and the job request only once the server has
  // acknowledged it ("Result Received"), so that the server knows what this
  // device reverted before it picks an image for it (its workers may take
  // two messages in either order). Unacknowledged: asked anyway after the job
  // timeout, and the report is sent again next session (a few times).
  // To mqota-server (announced) until it is acknowledged, which it is only
  // once on disk: a server down for a while must not lose what the boot
  // did. To anything else a few times: a reference publisher never
  // acknowledges it, and the device must not wait on it forever.
  if (have_boot_report_ && (boot_report_sends_ < kMaxBootReportSends || UseDeviceTopics())) {
    if (boot_report_sends_ < UINT8_MAX) ++boot_report_sends_;
    awaiting_report_ack_ = true;
    SendBootReport();
    return;
  }
  have_boot_report_ = false;
  SendRequest(message::kUpdateAvailability);
}

void Agent::SendBootReport() {
  const BootReport& r = boot_report_;
  const std::string_view m = message::kBootReport;
  switch (r.kind) {
    case BootReportKind::kConfirmed:
      SendOutcome(m, outcome::kConfirmed, r.version, std::nullopt);
      break;
    case BootReportKind::kReverted:
      SendOutcome(m, outcome::kReverted, r.version,
                  "not confirmed after the update: the bootloader reverted it");
      break;
    case BootReportKind::kInterrupted:
      SendOutcome(m, outcome::kInterrupted, r.version,
                  "the power failed before it was confirmed: the bootloader reverted it");
      break;
    case BootReportKind::kRejected:
      SendOutcome(m, outcome::kRejected, r.version, r.reason ? r.reason : "");
      break;
  }
}

void Agent::EndSession(SessionEnd why, uint64_t now_ms) {
  transport_.Unsubscribe(unique_topic());
  slots_ = {};
  status_.last_end = why;
  ++status_.sessions_ended;
  status_.state = why == SessionEnd::kInstalled ? AgentState::kPending : AgentState::kIdle;
  const uint32_t next_check_ms = NextCheckAfter(why);
  // Up to a tenth earlier, at random: devices powered on together (a
  // building after a power cut) do not poll in step forever.
  const uint64_t jitter =
      next_check_ms / 10 == 0 ? 0 : entropy_.Random64() % (next_check_ms / 10 + 1);
  deadline_ms_ = now_ms + next_check_ms - jitter;
}

// A session the network let down (no job came, or chunks stopped coming) is
// tried again soon, backing off while they keep failing, never later than
// the next regular check: a lost message costs seconds, not a poll interval,
// and a server that is down is not hammered. A stalled session that got
// chunks made progress: its retry starts the back-off over.
uint32_t Agent::NextCheckAfter(SessionEnd why) {
  if (why == SessionEnd::kInstalled) return 0;
  // An unusable patch is not the network's fault, but the full image is
  // there to fetch at once, so it is retried as soon.
  const bool network =
      why == SessionEnd::kNoJob || why == SessionEnd::kStalled || why == SessionEnd::kPatchUnusable;
  if (!network || config_.retry_delay_ms == 0) {
    failed_sessions_ = 0;
    return config_.check_interval_ms;
  }
  if (why == SessionEnd::kStalled && status_.granules_present > status_.granules_at_start) {
    failed_sessions_ = 0;
  }
  const uint32_t shift = std::min<uint32_t>(failed_sessions_, 16);
  ++failed_sessions_;
  const uint64_t delay = static_cast<uint64_t>(config_.retry_delay_ms) << shift;
  return static_cast<uint32_t>(std::min<uint64_t>(delay, config_.check_interval_ms));
}

void Agent::OnMessage(std::string_view topic, std::span<const uint8_t> payload, uint64_t now_ms) {
  if (announce_topic_length_ != 0) {
    if (topic == Topic(announce_topic_, announce_topic_length_)) {
      OnAnnouncement(payload);
      if (check_waiting_ && status_.state == AgentState::kIdle && ReadyToAsk(now_ms)) {
        StartSession(now_ms);
      }
      return;
    }
    if (topic == Topic(notify_topic_, notify_topic_length_)) return OnNotify(now_ms);
  }
  // Only the session's own topic carries its job and chunks; anything else
  // (a shared topic, a stray retained message, another device's traffic) is
  // not part of this download (R4, R17).
  if (unique_topic_length_ == 0 || topic != unique_topic()) {
    ++status_.ignored_messages;
    return;
  }
  if (status_.state == AgentState::kAwaitingJob) {
    HandleJob(payload, now_ms);
  } else if (status_.state == AgentState::kDownloading) {
    HandleChunk(payload, now_ms);
  } else {
    ++status_.ignored_messages;
  }
}

void Agent::OnAnnouncement(std::span<const uint8_t> payload) {
  AnnouncementReader reader;
  std::array<char, 64> scratch{};
  const std::string_view text(reinterpret_cast<const char*>(payload.data()), payload.size());
  status_.server_announced =
      !payload.empty() && ReadJsonObject(text, scratch, reader).ok() && reader.is_announcement();
}

// The server has something for this device: check now rather than at the
// next poll. Only the server may publish on this topic (the broker's ACL), so
// a nudge is not rate-limited here; one during a session changes nothing.
void Agent::OnNotify(uint64_t now_ms) {
  ++status_.notifications;
  if (status_.state == AgentState::kIdle) CheckNow(now_ms);
}

void Agent::HandleJob(std::span<const uint8_t> payload, uint64_t now_ms) {
  const Result<JobDocument, JobErrc> parsed =
      ParseJob(std::string_view(reinterpret_cast<const char*>(payload.data()), payload.size()));
  const bool result_received = parsed.ok() && parsed->kind == JobKind::kResultReceived;
  if (awaiting_report_ack_) {
    if (result_received) {
      awaiting_report_ack_ = false;
      have_boot_report_ = false;  // delivered
      SendRequest(message::kUpdateAvailability);
      deadline_ms_ = now_ms + config_.job_timeout_ms;
    } else {
      ++status_.ignored_messages;
    }
    return;
  }
  if (result_received || (!parsed.ok() && parsed.error() == JobErrc::kNotAJob)) {
    // E.g. the "Result Received" acknowledging a result sent on this topic:
    // not an answer to the request, so keep waiting for the job.
    ++status_.ignored_messages;
    return;
  }
  if (!parsed.ok()) return EndSession(SessionEnd::kBadJob, now_ms);
  const JobDocument& job = *parsed;
  status_.offered = job.version;
  status_.image_bytes = job.image_size_bytes;
  SessionEnd refused = SessionEnd::kNone;
  if (job.kind == JobKind::kNoUpdate ||
      image::CompareVersions(job.version, config_.running_version) <= 0) {
    refused = SessionEnd::kNoUpdate;  // strictly newer only: no downgrades, no reinstalls
  } else if (job.board_name() != config_.identity.board) {
    refused = SessionEnd::kWrongBoard;
  } else if (IsBlocklisted(job.version)) {
    refused = SessionEnd::kBlocklisted;
  } else if ((!job.broker_host().empty() && job.broker_host() != config_.broker_host) ||
             (job.port != 0 && job.port != config_.broker_port)) {
    refused = SessionEnd::kRedirect;
  }
  if (refused != SessionEnd::kNone) return EndSession(refused, now_ms);
  job_ = job;
  status_.state = AgentState::kDownloading;
  // mqota-server says how it cuts the image: the device pulls. A reference
  // publisher does not: it pushes everything on "Request Update".
  if (config_.window != 0 && !status_.pull_refused && job.chunk_bytes != 0 &&
      job.image_size_bytes != 0) {
    if (job.has_patch() && TakesPatches()) return StartPatch(now_ms);
    return StartPull(now_ms);
  }
  SendRequest(message::kRequestUpdate);
  deadline_ms_ = now_ms + config_.chunk_timeout_ms;
}

// Starts (or resumes: only what the journal lacks is asked for) the download
// with the job's size and the granule this device asks for.
bool Agent::BeginDownload(uint32_t total_size, uint32_t granule, uint64_t now_ms) {
  DownloadId id;
  id.version = job_.version;
  id.total_size_bytes = total_size;
  id.granule_bytes = granule;
  id.tag = job_.image_tag;
  auto begun = store_.Begin(id);
  if (!begun.ok()) {
    const bool flash = begun.error().code == DownloadErrc::kFlash;
    SendResult(false, outcome::kFailed, job_.version,
               flash ? "flash error" : Describe(begun.error().code));
    EndSession(flash ? SessionEnd::kFlashError : SessionEnd::kTooLarge, now_ms);
    return false;
  }
  download_begun_ = true;
  total_size_ = total_size;
  granule_bytes_ = granule;
  status_.chunk_bytes = granule;
  status_.granule_count = store_.granule_count();
  status_.granules_present = store_.present_count();
  status_.granules_at_start = store_.present_count();
  return true;
}

uint32_t Agent::PullGranuleBytes() const {
  uint32_t granule =
      config_.preferred_chunk_bytes != 0 ? config_.preferred_chunk_bytes : job_.chunk_bytes;
  granule = std::min(granule, static_cast<uint32_t>(kMaxChunkDataBytes));
  return granule - granule % std::max<uint32_t>(secondary_.write_alignment_bytes(), 1);
}

void Agent::StartPull(uint64_t now_ms) {
  const uint32_t granule = PullGranuleBytes();
  status_.pull = true;
  status_.crc = config_.chunk_crc && job_.chunk_crc32c;
  window_ = std::min(config_.window, kMaxWindow);
  slots_ = {};
  cursor_ = 0;
  if (!BeginDownload(job_.image_size_bytes, granule, now_ms)) return;
  if (store_.complete()) return FinishDownload(now_ms);  // all in the journal already
  FillWindow(now_ms);
}

bool Agent::InFlight(uint32_t granule) const {
  for (size_t i = 0; i < window_; ++i) {
    if (slots_[i].used && slots_[i].granule == granule) return true;
  }
  return false;
}

// Every free slot asks for the next missing granule not yet asked for.
void Agent::FillWindow(uint64_t now_ms) {
  const uint32_t count = store_.granule_count();
  for (size_t i = 0; i < window_; ++i) {
    if (slots_[i].used) continue;
    uint32_t g = store_.NextMissing(cursor_);
    while (g < count && InFlight(g)) g = store_.NextMissing(g + 1);
    if (g >= count) {
      // Behind the cursor every missing granule is in flight; look anyway,
      // it costs one pass at the end of the download.
      g = store_.NextMissing(0);
      while (g < count && InFlight(g)) g = store_.NextMissing(g + 1);
      if (g >= count) break;
    }
    cursor_ = g + 1;
    slots_[i] = Slot{true, g, 0, 0, 0};
    SendChunkRequest(i, now_ms);
  }
  UpdatePullDeadline(now_ms);
}

// Asks for slot's granule again, within the session's retry budget; false
// when the budget is spent and the session has ended (its journal stays).
bool Agent::Resend(size_t slot, uint64_t now_ms) {
  if (status_.retries >= config_.max_retries) {
    // A server that offers pull but never answers a chunk request (a broken
    // or half-compatible one): use the reference push flow from now on.
    if (status_.granules_present == status_.granules_at_start) status_.pull_refused = true;
    EndSession(SessionEnd::kStalled, now_ms);
    return false;
  }
  ++status_.retries;
  SendChunkRequest(slot, now_ms);
  return true;
}

void Agent::SendChunkRequest(size_t slot, uint64_t now_ms) {
  Slot& s = slots_[slot];
  ++s.sends;
  s.sent_ms = now_ms;
  uint64_t timeout = status_.request_timeout_ms;
  if (s.sends > 1) {
    // Exponential back-off per granule, with jitter (up to +25%) so that
    // many devices that lost the same broker do not ask again in step.
    timeout <<= std::min<uint32_t>(s.sends - 1, 16);
    timeout += timeout * (entropy_.Random64() % 257) / 1024;
  }
  s.deadline_ms =
      now_ms + Clamp(timeout, config_.request_timeout_min_ms, config_.request_timeout_max_ms);
  ++status_.chunk_requests;
  SendRequest(message::kRequestDataChunk, s.granule);
}

// RFC 6298's estimator, in milliseconds: timeout = SRTT + 4 RTTVAR.
void Agent::SampleRoundTrip(uint32_t sample_ms) {
  if (!have_rtt_) {
    have_rtt_ = true;
    srtt_ms_ = sample_ms;
    rttvar_ms_ = sample_ms / 2;
  } else {
    const uint32_t delta = srtt_ms_ > sample_ms ? srtt_ms_ - sample_ms : sample_ms - srtt_ms_;
    rttvar_ms_ = static_cast<uint32_t>((uint64_t{rttvar_ms_} * 3 + delta) / 4);
    srtt_ms_ = static_cast<uint32_t>((uint64_t{srtt_ms_} * 7 + sample_ms) / 8);
  }
  const uint64_t rto = uint64_t{srtt_ms_} + std::max<uint64_t>(1, uint64_t{rttvar_ms_} * 4);
  status_.request_timeout_ms =
      Clamp(rto, config_.request_timeout_min_ms, config_.request_timeout_max_ms);
}

void Agent::UpdatePullDeadline(uint64_t now_ms) {
  uint64_t next = UINT64_MAX;
  for (size_t i = 0; i < window_; ++i) {
    if (slots_[i].used) next = std::min(next, slots_[i].deadline_ms);
  }
  deadline_ms_ = next != UINT64_MAX ? next : now_ms + config_.request_timeout_max_ms;
}

void Agent::HandlePullChunk(std::span<const uint8_t> payload, const ChunkHeader& h,
                            std::span<const uint8_t> data, uint64_t now_ms) {
  if (status_.patch) return HandlePatchChunk(payload, h, data, now_ms);
  if (h.total_size != total_size_ || h.image_offset % granule_bytes_ != 0) {
    ++status_.bad_chunks;  // not a granule of this download
    return;
  }
  const uint32_t granule = h.image_offset / granule_bytes_;
  size_t slot = kNoSlot;
  for (size_t i = 0; i < window_; ++i) {
    if (slots_[i].used && slots_[i].granule == granule) slot = i;
  }
  if (status_.crc && !ChunkCrcMatches(payload, h)) {
    // Damaged on its way: refused, and asked for again at once.
    ++status_.bad_chunks;
    ++status_.crc_errors;
    if (slot != kNoSlot) {
      if (!Resend(slot, now_ms)) return;
      UpdatePullDeadline(now_ms);
    }
    return;
  }
  auto written = store_.Write(granule, data);
  if (!written.ok()) {
    if (written.error().code == DownloadErrc::kFlash) {
      SendResult(false, outcome::kFailed, job_.version, "flash error");
      return EndSession(SessionEnd::kFlashError, now_ms);
    }
    ++status_.bad_chunks;  // wrong length for its place: its request times out
    return;
  }
  status_.granules_present = store_.present_count();
  MaybeSendProgress(now_ms);
  if (slot != kNoSlot) {
    // Karn: only an answer to a request sent once measures the round trip.
    if (slots_[slot].sends == 1)
      SampleRoundTrip(
          static_cast<uint32_t>(std::min<uint64_t>(now_ms - slots_[slot].sent_ms, UINT32_MAX)));
    slots_[slot].used = false;
  }
  if (store_.complete()) return FinishDownload(now_ms);
  FillWindow(now_ms);
}

void Agent::HandleChunk(std::span<const uint8_t> payload, uint64_t now_ms) {
  const Result<Chunk, ChunkError> decoded = DecodeChunk(payload);
  if (!decoded.ok()) {
    ++status_.bad_chunks;
    return;
  }
  const ChunkHeader& h = decoded->header;
  // The chunk must belong to the image the job offered.
  if (h.version_major != job_.version.major || h.version_minor != job_.version.minor ||
      h.version_build != job_.version.revision) {
    ++status_.bad_chunks;
    return;
  }
  if (status_.pull) return HandlePullChunk(payload, h, decoded->data, now_ms);
  const uint32_t granule =
      job_.chunk_bytes != 0 ? job_.chunk_bytes : static_cast<uint32_t>(kReferenceChunkDataBytes);
  if (job_.image_size_bytes != 0 && h.total_size != job_.image_size_bytes) {
    ++status_.bad_chunks;  // not the image the job announced
    return;
  }
  if (!download_begun_ && !BeginDownload(h.total_size, granule, now_ms)) return;
  if (h.total_size != total_size_) {
    ++status_.bad_chunks;  // the first chunk fixed the image's size for this download
    return;
  }
  if (h.image_offset % granule != 0) {
    ++status_.bad_chunks;  // not on this download's grid: cannot be one of its granules
    return;
  }
  auto written = store_.Write(h.image_offset / granule, decoded->data);
  if (!written.ok()) {
    if (written.error().code == DownloadErrc::kFlash) {
      SendResult(false, outcome::kFailed, job_.version, "flash error");
      return EndSession(SessionEnd::kFlashError, now_ms);
    }
    ++status_.bad_chunks;  // wrong length or index for this image
    return;
  }
  status_.granules_present = store_.present_count();
  MaybeSendProgress(now_ms);
  deadline_ms_ = now_ms + config_.chunk_timeout_ms;
  if (store_.complete()) FinishDownload(now_ms);
}

// Integrity before pending: the whole image in the slot must validate (hash,
// a trusted signature, the version the job offered, newer than what runs)
// before the bootloader is asked to install it (the reference checks nothing:
// S2). A bad image is erased and its version refused for the rest of this run
// (docs/spec/mqota-protocol.md#results-and-outcomes).
void Agent::FinishDownload(uint64_t now_ms) {
  image::FlashImageSource source(secondary_);
  image::ValidationOptions options;
  options.trusted_keys = config_.trusted_keys;
  options.limits.max_image_size_bytes = secondary_.size_bytes() - trailer_.trailer_bytes();
  auto valid = image::ValidateImage(source, *config_.crypto, options);
  bool ok = valid.ok() && SameProtocolVersion(valid->layout.header.version, job_.version) &&
            image::CompareVersions(valid->layout.header.version, config_.running_version) > 0;
  if (ok) ok = MarkPending(valid->layout.total_size);
  (void)store_.Forget();
  if (!ok) {
    if (!valid.ok()) status_.verify_error = valid.error().code;
    (void)secondary_.Erase(0, secondary_.size_bytes());
    Blocklist(job_.version);
    SendResult(false, outcome::kRefused, job_.version,
               valid.ok() ? "version mismatch" : image::Describe(valid.error().code));
    return EndSession(SessionEnd::kVerifyFailed, now_ms);
  }
  SendResult(true, outcome::kPending, job_.version, {});
  EndSession(SessionEnd::kInstalled, now_ms);
}

// Asks the bootloader to install the image in the secondary slot. A power
// cut during an earlier attempt (the download resumed, complete, after it)
// can leave a half-written trailer, which SetPending refuses: the image is
// whole and validated, so the trailer's sectors are erased, when they hold
// none of the image, and the image is marked again.
bool Agent::MarkPending(uint32_t image_bytes) {
  const boot::Trailer trailer(secondary_, trailer_);
  if (boot::SetPending(trailer, /*permanent=*/false).ok()) return true;
  const auto first = secondary_.SectorContaining(trailer.offset_bytes());
  if (!first || first->offset_bytes < image_bytes) return false;
  const uint32_t tail = secondary_.size_bytes() - first->offset_bytes;
  return secondary_.Erase(first->offset_bytes, tail).ok() &&
         boot::SetPending(trailer, /*permanent=*/false).ok();
}

void Agent::SendRequest(std::string_view message_text, uint32_t granule) {
  if (message_text == message::kRequestUpdate) ++requests_;
  std::array<char, kMaxJsonDocumentBytes> buffer{};
  std::array<char, kProtocolVersionTextBytes> version{};
  JsonObjectWriter w(buffer);
  if (message_text == message::kRequestDataChunk) {
    // Only mqota-server is ever pulled from (it offered ChunkSize), and it
    // reads none of the identity fields: a chunk request carries what
    // serves it. ~200 bytes instead of ~390 per 4 KiB chunk. Size is always
    // the download's chunk size, the last granule's too: the server cuts the
    // short remainder itself (the reference asks "-1": R11).
    // A patch is asked for from exactly where its decoder stands (a resume
    // starts at a block boundary, wherever that falls), and named, so that
    // any server can serve it.
    const uint64_t offset =
        status_.patch ? uint64_t{patch_offset_} : uint64_t{granule} * granule_bytes_;
    w.Add(key::kMessage, message_text)
        .Add(key::kVersion, FormatProtocolVersion(config_.running_version, version))
        .Add(key::kUniqueTopicName, unique_topic())
        .Add(key::kOffset, offset)
        .Add(key::kSize, uint64_t{granule_bytes_});
    if (status_.crc) w.Add(key::kAcceptChunkCrc, kChunkCrc32c);
    std::array<char, 2 * image::kSha256DigestBytes> digest{};
    if (status_.patch) w.Add(key::kPatchSha256, HexText(job_.patch_sha256, digest));
  } else {
    w.Add(key::kMessage, message_text)
        .Add(key::kManufacturer, config_.identity.manufacturer)
        .Add(key::kManufacturerId, config_.identity.manufacturer_id)
        .Add(key::kProductId, config_.identity.product_id)
        .Add(key::kSerialNumber, config_.identity.serial_number)
        .Add(key::kBoardName, config_.identity.board)
        .Add(key::kVersion, FormatProtocolVersion(config_.running_version, version))
        .Add(key::kUniqueTopicName, unique_topic());
    // Only to an mqota-server: the reference's requests stay as they are.
    std::array<char, 2 * image::kSha256DigestBytes> digest{};
    if (message_text == message::kUpdateAvailability && UseDeviceTopics() &&
        config_.running_image_digest.size() == image::kSha256DigestBytes) {
      w.Add(key::kImageSha256,
            HexText(config_.running_image_digest.first<image::kSha256DigestBytes>(), digest));
      if (TakesPatches()) w.Add(key::kAcceptPatch, kPatchFormatDelta2);
    }
  }
  auto text = w.Finish();
  if (!text.ok()) return;
  transport_.Publish(RequestTopic(),
                     std::span(reinterpret_cast<const uint8_t*>(text->data()), text->size()));
}

void Agent::SendResult(bool success, std::string_view outcome, const image::ImageVersion& version,
                       std::string_view reason) {
  SendOutcome(success ? message::kSuccess : message::kFailure, outcome, version,
              success ? std::nullopt : std::optional<std::string_view>(reason));
}

void Agent::SendOutcome(std::string_view message, std::string_view outcome,
                        const image::ImageVersion& version,
                        std::optional<std::string_view> reason) {
  std::array<char, kMaxJsonDocumentBytes> buffer{};
  std::array<char, kProtocolVersionTextBytes> version_text{};
  JsonObjectWriter w(buffer);
  w.Add(key::kMessage, message)
      .Add(key::kUniqueTopicName, unique_topic())
      .Add(key::kVersion, FormatProtocolVersion(version, version_text))
      .Add(key::kOutcome, outcome);
  if (reason) w.Add(key::kReason, *reason);
  auto text = w.Finish();
  if (!text.ok()) return;
  transport_.Publish(RequestTopic(),
                     std::span(reinterpret_cast<const uint8_t*>(text->data()), text->size()));
}

// "Progress" on the device's own request topic only: a reference publisher
// would answer it with "Could not understand the message!"
// (docs/spec/mqota-protocol.md#progress).
void Agent::MaybeSendProgress(uint64_t now_ms) {
  // Complete: the result follows at once and says more.
  if (!UseDeviceTopics() || device_request_topic_length_ == 0 || status_.granule_count == 0 ||
      store_.complete()) {
    return;
  }
  const auto percent =
      static_cast<uint32_t>(uint64_t{status_.granules_present} * 100 / status_.granule_count);
  const bool step =
      percent >= progress_percent_sent_ + std::max<uint32_t>(config_.progress_step_percent, 1);
  const bool due = now_ms - progress_sent_ms_ >= config_.progress_interval_ms;
  if (!step && !due) return;
  std::array<char, kMaxJsonDocumentBytes> buffer{};
  std::array<char, kProtocolVersionTextBytes> version{};
  JsonObjectWriter w(buffer);
  w.Add(key::kMessage, message::kProgress)
      .Add(key::kUniqueTopicName, unique_topic())
      .Add(key::kVersion, FormatProtocolVersion(job_.version, version))
      .Add(key::kState, key::kStateDownloading)
      .Add(key::kPercent, uint64_t{percent});
  auto text = w.Finish();
  if (!text.ok()) return;
  if (!transport_.Publish(RequestTopic(), std::span(reinterpret_cast<const uint8_t*>(text->data()),
                                                    text->size()))) {
    return;  // not connected: the next granule tries again
  }
  ++status_.progress_reports;
  progress_percent_sent_ = percent;
  progress_sent_ms_ = now_ms;
}

void Agent::ReportBoot(const BootReport& report) {
  boot_report_ = report;
  have_boot_report_ = true;
  boot_report_sends_ = 0;
  if (report.kind == BootReportKind::kReverted || report.kind == BootReportKind::kRejected) {
    Blocklist(report.version);
  }
}

void Agent::Blocklist(const image::ImageVersion& version) {
  if (IsBlocklisted(version)) return;
  // Full: the oldest entry makes room (versions only grow).
  if (blocklist_size_ == blocklist_.size()) {
    std::copy(blocklist_.begin() + 1, blocklist_.end(), blocklist_.begin());
    --blocklist_size_;
  }
  blocklist_[blocklist_size_++] = version;
}

bool Agent::IsBlocklisted(const image::ImageVersion& version) const {
  for (size_t i = 0; i < blocklist_size_; ++i) {
    if (SameProtocolVersion(blocklist_[i], version)) return true;
  }
  return false;
}

}  // namespace mqota::agent
