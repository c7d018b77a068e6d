#include "mqota/server/request_handler.h"

#include <array>
#include <cctype>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>

#include "mqota/agent/job.h"
#include "mqota/agent/json.h"
#include "mqota/agent/protocol.h"
#include "mqota/server/chunks.h"
#include "mqota/server/topics.h"

namespace mqota::server {
namespace {

using nlohmann::json;
namespace message = agent::message;
namespace key = agent::key;

// Documents are built with the device's own writer into a buffer of the size
// a device accepts, so nothing larger can ever be sent
// (docs/spec/reference-protocol.md#common-rules).
class Document {
 public:
  Document() : writer_(buffer_) {}
  agent::JsonObjectWriter& writer() { return writer_; }
  std::string Finish() {
    auto text = writer_.Finish();
    return text.ok() ? std::string(*text) : std::string();
  }

 private:
  std::array<char, agent::kMaxJsonDocumentBytes> buffer_{};
  agent::JsonObjectWriter writer_;
};

std::vector<uint8_t> Bytes(const std::string& text) { return {text.begin(), text.end()}; }

// A string member, its key matched as devices match keys (case-insensitive,
// exact length); nullopt when absent or not a string.
std::optional<std::string> StringMember(const json& object, std::string_view name) {
  for (const auto& [k, v] : object.items()) {
    if (agent::KeyEquals(k, name)) {
      if (!v.is_string()) return std::nullopt;
      return v.get<std::string>();
    }
  }
  return std::nullopt;
}

std::optional<uint32_t> ParseDecimal(std::string_view text) {
  if (text.empty() || text.size() > 10) return std::nullopt;
  uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<uint64_t>(c - '0');
  }
  if (value > UINT32_MAX) return std::nullopt;
  return static_cast<uint32_t>(value);
}

std::string LowerCase(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

std::string VersionText(const image::ImageVersion& v) {
  std::array<char, agent::kProtocolVersionTextBytes> text{};
  return std::string(agent::FormatProtocolVersion(v, text));
}

std::string Describe(const CatalogEntry& entry) {
  return entry.board + " " + entry.ProtocolVersion() + " (" + entry.path + ")";
}

// Everything a request message says that the rules below use.
// clang-tidy 14 sees its implicit, noexcept move constructor calling json's
// (which does not throw) as a possible escape: a false positive.
struct Request {                  // NOLINT(bugprone-exception-escape)
  std::string_view board;         // from the request topic
  std::string_view topic_device;  // from a device's own request topic, else ""
  std::string message;
  std::string unique_topic;
  std::optional<image::ImageVersion> version;  // "Version", when valid
  json object;
};

class Handler {
 public:
  Handler(std::string_view topic, std::span<const uint8_t> payload, const Catalog& catalog,
          const OfferLookup& offered, const HandlerConfig& config, const RefusedLookup& refused,
          const ChooseImage& choose)
      : topic_(topic),
        payload_(payload),
        catalog_(catalog),
        offered_(offered),
        config_(config),
        refused_(refused),
        choose_(choose) {}

  // What the request said it is, once Parse has read its Message.
  MessageKind kind() const {
    const std::string& m = request_.message;
    if (m == message::kUpdateAvailability) return MessageKind::kUpdateAvailability;
    if (m == message::kRequestUpdate) return MessageKind::kRequestUpdate;
    if (m == message::kRequestDataChunk) return MessageKind::kRequestDataChunk;
    if (m == message::kProgress) return MessageKind::kProgress;
    if (m == message::kSuccess || m == message::kFailure || m == message::kBootReport) {
      return MessageKind::kResult;
    }
    return MessageKind::kOther;
  }

  Response Run() {
    if (!Parse()) return std::move(response_);
    const std::string& m = request_.message;
    if (m == message::kSendDirectUpdate) {
      return Refuse("legacy \"Send Direct Update\" is not served (it broadcasts to the board)");
    }
    const bool known = m == message::kUpdateAvailability || m == message::kRequestUpdate ||
                       m == message::kRequestDataChunk || m == message::kSuccess ||
                       m == message::kFailure || m == message::kBootReport ||
                       m == message::kProgress;
    if (!known) return Refuse("unknown Message \"" + Printable(m, 40) + "\"");
    if (!AcceptDeviceTopic()) return std::move(response_);
    if (m == message::kUpdateAvailability) return UpdateAvailability();
    if (m == message::kRequestUpdate) return RequestUpdate();
    if (m == message::kRequestDataChunk) return RequestDataChunk();
    if (m == message::kProgress) return Progress();
    return Result();
  }

 private:
  // Ignore the message, with one warning line saying why.
  bool Ignore(const std::string& why) {
    response_ = Response{};
    response_.level = LogLevel::kWarn;
    response_.log = Who() + ": " + why + "; ignored";
    return false;
  }
  Response Refuse(const std::string& why) {
    Ignore(why);
    return std::move(response_);
  }

  std::string Who() const {
    return Printable(request_.unique_topic.empty() ? topic_ : request_.unique_topic);
  }

  bool Parse() {
    const auto origin = OriginOfRequestTopic(config_.prefix, topic_);
    if (!origin) return Ignore("not a request topic");
    request_.board = origin->board;
    request_.topic_device = origin->device;
    if (payload_.empty()) return Ignore("empty payload");
    if (payload_.size() > kMaxRequestBytes) {
      return Ignore("oversized payload (" + std::to_string(payload_.size()) + " bytes)");
    }
    // No exceptions: invalid JSON and invalid UTF-8 come back as "discarded".
    request_.object = json::parse(payload_.begin(), payload_.end(), nullptr, false);
    if (request_.object.is_discarded()) return Ignore("not valid JSON (or not UTF-8)");
    if (!request_.object.is_object()) return Ignore("not a JSON object");
    auto m = StringMember(request_.object, key::kMessage);
    if (!m) return Ignore("no Message string");
    request_.message = std::move(*m);
    if (auto t = StringMember(request_.object, key::kUniqueTopicName)) {
      request_.unique_topic = std::move(*t);
    }
    if (auto v = StringMember(request_.object, key::kVersion)) {
      image::ImageVersion version;
      if (agent::ParseProtocolVersion(*v, version)) request_.version = version;
    }
    return true;
  }

  bool AcceptDeviceTopic() {
    if (request_.unique_topic.empty()) {
      return Ignore("\"" + request_.message + "\" without a UniqueTopicName");
    }
    if (const char* why = RefuseReplyTopic(config_.prefix, request_.board, request_.unique_topic)) {
      return Ignore(std::string(why) + ", not publishing there");
    }
    if (request_.unique_topic == config_.flow_topic) {
      return Ignore("the UniqueTopicName is the server's flow topic, not publishing there");
    }
    const std::string_view named =
        DeviceOfReplyTopic(config_.prefix, request_.board, request_.unique_topic);
    if (!request_.topic_device.empty()) {
      // Its own topic proves who it is; its answers must go where only it reads.
      if (named != request_.topic_device) {
        return Ignore("a request on " + Printable(request_.topic_device, 64) +
                      "'s own topic names a UniqueTopicName that is not that device's");
      }
      response_.verified = true;
    }
    response_.device = std::string(named);
    response_.device_topic = request_.unique_topic;
    return true;
  }

  Asker AskerOf() const {
    return Asker{response_.device, request_.board, request_.version.value_or(image::ImageVersion{}),
                 response_.verified};
  }

  // The reference device hard-codes BoardName (R19), so the request topic's
  // board decides; a disagreement is worth a note in the log.
  std::string BoardNote() const {
    auto named = StringMember(request_.object, key::kBoardName);
    if (!named) named = StringMember(request_.object, key::kBoard);  // the emulator's key
    if (!named || *named == request_.board) return "";
    return " (its BoardName \"" + Printable(*named, 40) + "\" differs; the topic's board counts)";
  }

  // Documents are at most 1023 bytes; an accepted reply topic (<= 256
  // printable bytes) always fits, so an empty one means a bug, not input.
  void Publish(const std::string& document) {
    if (document.empty()) throw std::logic_error("a reply document does not fit 1023 bytes");
    response_.publish.push_back({request_.unique_topic, Bytes(document)});
  }

  // The running image's digest an mqota device states
  // (docs/spec/mqota-protocol.md#running-image); "" when absent or not 64
  // hex digits (kept in lower case, as the catalog's).
  std::string RunningImageDigest() const {
    auto stated = StringMember(request_.object, key::kImageSha256);
    if (!stated || stated->size() != 64) return "";
    std::string digest;
    digest.reserve(64);
    for (const char c : *stated) {
      if (!std::isxdigit(static_cast<unsigned char>(c))) return "";
      digest += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return digest;
  }

  // The catalog's patch from the image this device runs to `entry`, when the
  // device takes patches (docs/spec/mqota-protocol.md#patches): it said so,
  // with its running image's digest, on its own request topic.
  PatchPtr PatchFor(const CatalogEntry& entry) const {
    const auto accepts = StringMember(request_.object, key::kAcceptPatch);
    if (!response_.verified || !accepts || *accepts != agent::kPatchFormatDelta2) return nullptr;
    const std::string running = RunningImageDigest();
    return running.empty() ? nullptr : catalog_.PatchFrom(running, entry);
  }

  static std::string PatchNote(const PatchPtr& patch) {
    if (!patch) return "";
    const uint64_t permille = uint64_t{patch->size_bytes()} * 1000 / patch->target->size_bytes();
    return " as a patch of " + std::to_string(patch->size_bytes()) + " bytes (" +
           std::to_string(permille / 10) + "." + std::to_string(permille % 10) + "% of the image)";
  }

  Response UpdateAvailability() {
    if (!request_.version) return Refuse("\"Update Availability\" without a valid Version");
    const std::string who = Who() + ": " + Printable(request_.board) + " at " +
                            VersionText(*request_.version) + BoardNote();
    response_.level = LogLevel::kInfo;
    if (!response_.device.empty()) {
      response_.sighting =
          DeviceSighting{response_.device, std::string(request_.board), *request_.version,
                         response_.verified, RunningImageDigest()};
    }
    if (choose_) return UpdateAvailabilityFromFleet(who);
    std::string skipped;
    const auto refused_here = [&, refused = RefusedByThisDevice()](const CatalogEntry& e) {
      const bool skip = refused && refused(e);
      if (skip) {
        // Two appends, not `" " + ...`: GCC 12 at -O3 reports a false
        // -Wrestrict in that operator+ (GCC bug 105651).
        skipped += ' ';
        skipped += e.ProtocolVersion();
      }
      return skip;
    };
    if (EntryPtr entry =
            catalog_.NewestNewerThan(request_.board, *request_.version, refused_here)) {
      const PatchPtr patch = PatchFor(*entry);
      Publish(JobDocument(*entry, request_.unique_topic, config_.job_port, patch.get()));
      response_.remember_offer = entry;
      response_.offer_sent = true;
      response_.awaits_follow_up = true;
      response_.log = who + ": offering " + Describe(*entry) + PatchNote(patch);
    } else {
      Publish(NoUpdateDocument(request_.unique_topic));
      response_.forget_offer = true;
      response_.log = who + ": no update";
    }
    if (!skipped.empty())
      response_.log += " (not offering what it reverted or refused:" + skipped + ")";
    return std::move(response_);
  }

  // The fleet decides (a campaign, or nothing).
  Response UpdateAvailabilityFromFleet(const std::string& who) {
    const Choice choice = choose_(AskerOf());
    const std::string note = choice.note.empty() ? "" : " (" + choice.note + ")";
    if (choice.entry) {
      const PatchPtr patch = PatchFor(*choice.entry);
      Publish(JobDocument(*choice.entry, request_.unique_topic, config_.job_port, patch.get()));
      response_.remember_offer = choice.entry;
      response_.offer_sent = true;
      response_.campaign = choice.campaign;
      response_.log = who + ": offering " + Describe(*choice.entry) + PatchNote(patch) + note;
    } else {
      Publish(NoUpdateDocument(request_.unique_topic));
      response_.forget_offer = true;
      response_.log = who + ": no update" + note;
    }
    return std::move(response_);
  }

  // What the device reported as reverted, rejected or refused is never
  // offered (nor streamed) to it again.
  std::function<bool(const CatalogEntry&)> RefusedByThisDevice() const {
    const std::string device = response_.device;
    if (device.empty() || !refused_) return {};
    return [this, device](const CatalogEntry& e) { return refused_(device, e.version); };
  }

  // The image offered to this topic; without an offer (the direct flow, or
  // a server restarted between the two requests) the newest one newer than
  // the Version the request states, which is then remembered.
  EntryPtr OfferedImage() {
    if (EntryPtr entry = offered_ ? offered_(request_.unique_topic) : nullptr) return entry;
    if (!request_.version) return nullptr;
    if (choose_) {
      const Choice choice = choose_(AskerOf());
      response_.remember_offer = choice.entry;
      response_.campaign = choice.campaign;
      return choice.entry;
    }
    EntryPtr entry =
        catalog_.NewestNewerThan(request_.board, *request_.version, RefusedByThisDevice());
    response_.remember_offer = entry;
    return entry;
  }

  std::string NothingOffered() const {
    return "\"" + request_.message + "\" but nothing was offered to this topic" +
           (request_.version ? " and nothing is newer than " + VersionText(*request_.version)
                             : std::string(" and it states no valid Version"));
  }

  Response RequestUpdate() {
    EntryPtr entry = OfferedImage();
    if (!entry) return Refuse(NothingOffered());
    response_.stream = entry;
    response_.level = LogLevel::kInfo;
    response_.log = Who() + ": sending " + Describe(*entry) + ", " +
                    std::to_string(ChunkCount(entry->size_bytes(), kChunkDataBytes)) + " chunks";
    return std::move(response_);
  }

  // One chunk, as publisher.py cuts it
  // (docs/spec/reference-protocol.md#single-chunk-requests): data = image[Offset,
  // Offset + Size), index = Offset / Size, total = ceil(size / Size). Size
  // is anything the header's u16 data_size carries (1..65535): mqota's agent
  // asks for its own chunk size. A request that accepts the job's CRC offer
  // ("AcceptChunkCrc": "crc32c") gets the data's CRC-32C after the data
  // (agent/protocol.h); any other request, including the reference
  // emulator's echo of the whole job with its "ChunkCrc", gets the chunk
  // exactly as publisher.py frames it.
  Response RequestDataChunk() {
    const auto offset_text = StringMember(request_.object, key::kOffset);
    const auto size_text = StringMember(request_.object, key::kSize);
    // ParseDecimal("") is nullopt. Not `text ? ParseDecimal(*text) : nullopt`:
    // GCC 12 at -O3 then reports a false -Wmaybe-uninitialized on the
    // optional's value (GCC bug 80635), which -Werror makes fatal.
    const auto offset = ParseDecimal(offset_text.value_or(""));
    const auto size = ParseDecimal(size_text.value_or(""));
    // "-1" is what the reference agent asks for its last chunk (R11).
    if (!offset || !size) return Refuse("chunk request without a decimal Offset and Size");
    // A patch is named in each request, so any server holding it serves it.
    PatchPtr patch;
    if (const auto name = StringMember(request_.object, key::kPatchSha256)) {
      patch = catalog_.PatchNamed(LowerCase(*name));
      if (!patch) {
        return Refuse("chunk request for a patch this catalog does not hold (" +
                      Printable(*name, 64) + ")");
      }
    }
    EntryPtr entry = patch ? patch->target : OfferedImage();
    if (!entry) return Refuse(NothingOffered());
    const std::span<const uint8_t> file = patch ? patch->data() : entry->data();
    const auto image_bytes = static_cast<uint32_t>(file.size());
    if (*offset >= image_bytes) {
      return Refuse("chunk Offset " + std::to_string(*offset) + " is beyond the image (" +
                    std::to_string(image_bytes) + " bytes)");
    }
    if (*size == 0 || *size > agent::kMaxChunkDataBytes) {
      return Refuse("chunk Size " + std::to_string(*size) + " is not within 1..65535");
    }
    const uint32_t total = ChunkCount(image_bytes, *size);
    if (total > UINT16_MAX) {
      return Refuse("chunk Size " + std::to_string(*size) + " needs more than 65535 chunks");
    }
    const uint32_t data_bytes = std::min(*size, image_bytes - *offset);
    const auto crc = StringMember(request_.object, key::kAcceptChunkCrc);
    const bool with_crc = crc && agent::KeyEquals(*crc, agent::kChunkCrc32c);
    Publication chunk{request_.unique_topic, {}};
    BuildChunk(entry->version, file, *offset, data_bytes, static_cast<uint16_t>(*offset / *size),
               static_cast<uint16_t>(total), chunk.payload, with_crc);
    response_.publish.push_back(std::move(chunk));
    response_.level = LogLevel::kDebug;
    response_.log = Who() + ": chunk at " + std::to_string(*offset) + " (" +
                    std::to_string(data_bytes) + " bytes" + (with_crc ? ", CRC32C" : "") + ") of " +
                    (patch ? "the patch to " : "") + Describe(*entry);
    return std::move(response_);
  }

  // A result ("Success", "Failure") or a boot report ("Boot Report", whose
  // Outcome says whether the boot went well): acknowledged, logged, and with
  // an Outcome, recorded about the device.
  Response Result() {
    const auto outcome = StringMember(request_.object, key::kOutcome);
    const bool success = request_.message == message::kSuccess ||
                         (request_.message == message::kBootReport && outcome &&
                          *outcome == agent::outcome::kConfirmed);
    const auto reason = StringMember(request_.object, key::kReason);
    response_.level = success ? LogLevel::kInfo : LogLevel::kWarn;
    response_.log = Who() + ": device reports " + request_.message +
                    (request_.version ? " for " + VersionText(*request_.version) : "") +
                    (reason ? ": " + Printable(*reason, 120) : "");
    Publish(ResultReceivedDocument(request_.unique_topic));
    response_.forget_offer = true;
    if (outcome && request_.version && !response_.device.empty()) {
      const bool refused = !success && (*outcome == agent::outcome::kReverted ||
                                        *outcome == agent::outcome::kRejected ||
                                        *outcome == agent::outcome::kRefused);
      response_.report = Report(Printable(*outcome, 20));
      response_.report->refused = refused;
      if (reason) response_.report->reason = Printable(*reason, 120);
      response_.log += " [" + Printable(*outcome, 20) + "]";
    }
    return std::move(response_);
  }

  DeviceReport Report(std::string outcome) const {
    DeviceReport report;
    report.device = response_.device;
    report.board = std::string(request_.board);
    report.version = *request_.version;
    report.outcome = std::move(outcome);
    report.verified = response_.verified;
    return report;
  }

  // "Progress" (docs/spec/mqota-protocol.md#progress): recorded, not
  // answered (the device does not wait for anything).
  Response Progress() {
    const auto state = StringMember(request_.object, key::kState);
    const auto percent = ParseDecimal(StringMember(request_.object, key::kPercent).value_or(""));
    if (!request_.version || response_.device.empty() || !state ||
        *state != key::kStateDownloading || !percent || *percent > 100) {
      return Refuse(
          "\"Progress\" without a device, a Version, State \"downloading\" and a "
          "Percent of 0..100");
    }
    response_.report = Report(std::string(key::kStateDownloading));
    response_.report->percent = static_cast<uint8_t>(*percent);
    response_.level = LogLevel::kDebug;
    response_.log = Who() + ": downloading " + VersionText(*request_.version) + ", " +
                    std::to_string(*percent) + "%";
    return std::move(response_);
  }

  std::string_view topic_;
  std::span<const uint8_t> payload_;
  const Catalog& catalog_;
  const OfferLookup& offered_;
  const HandlerConfig& config_;
  const RefusedLookup& refused_;
  const ChooseImage& choose_;
  Request request_;
  Response response_;
};

}  // namespace

Response HandleRequest(std::string_view topic, std::span<const uint8_t> payload,
                       const Catalog& catalog, const OfferLookup& offered,
                       const HandlerConfig& config, const RefusedLookup& refused,
                       const ChooseImage& choose) {
  Handler handler(topic, payload, catalog, offered, config, refused, choose);
  Response response = handler.Run();
  response.message = handler.kind();
  return response;
}

// publisher.py's ota_update.json, with what this server knows instead of a
// file's fixed values, then mqota's extensions.
std::string JobDocument(const CatalogEntry& entry, std::string_view unique_topic, uint16_t port,
                        const CatalogPatch* patch) {
  Document doc;
  doc.writer()
      .Add(key::kMessage, message::kUpdateAvailable)
      .Add(key::kBoard, entry.board)
      .Add(key::kVersion, entry.ProtocolVersion())
      .Add(key::kConnection, agent::kConnectionMqtt)
      .Add(key::kBroker, "")  // "": the broker the device is connected to
      .Add(key::kPort, uint64_t{port})
      .Add(key::kUniqueTopicName, unique_topic)
      .Add(key::kImageSize, uint64_t{entry.size_bytes()})
      .Add(key::kChunkSize, uint64_t{kChunkDataBytes})
      .Add(key::kImageSha256, entry.Sha256Hex())
      .Add(key::kChunkCrc, agent::kChunkCrc32c);
  if (patch != nullptr) {
    doc.writer()
        .Add(key::kPatchSize, uint64_t{patch->size_bytes()})
        .Add(key::kPatchSha256, patch->Sha256Hex());
  }
  return doc.Finish();
}

std::string NoUpdateDocument(std::string_view unique_topic) {
  Document doc;
  doc.writer()
      .Add(key::kMessage, message::kNoUpdateAvailable)
      .Add(key::kUniqueTopicName, unique_topic);
  return doc.Finish();
}

std::string ResultReceivedDocument(std::string_view unique_topic) {
  Document doc;
  doc.writer()
      .Add(key::kMessage, message::kResultReceived)
      .Add(key::kUniqueTopicName, unique_topic);
  return doc.Finish();
}

}  // namespace mqota::server
