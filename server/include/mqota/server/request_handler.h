// What the server does about one message on a request topic, decided by a
// pure function: message + catalog + what this device was offered before ->
// the messages to publish, the offer to remember, the stream to start and one
// log line. No MQTT, no threads, no clock: every rule of the protocol
// (docs/spec/reference-protocol.md#json-messages,
// docs/spec/reference-protocol.md#single-chunk-requests,
// docs/spec/mqota-protocol.md#compact-chunk-requests) is tested without a
// broker, and the server around it only carries the decision out.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "mqota/server/catalog.h"
#include "mqota/server/log.h"

namespace mqota::server {

// Larger requests are refused unread. A device's requests are at most 1023
// bytes (docs/spec/reference-protocol.md#common-rules); the emulator echoes a
// job document plus Offset/Size.
inline constexpr size_t kMaxRequestBytes = 4096;

struct HandlerConfig {
  std::string prefix = "mqota";
  uint16_t job_port = 1883;  // "Port" in job documents: where devices reach the broker
  std::string flow_topic;    // the server's own flow topic: never a reply topic
};

// The message types a request is counted under (mqota_requests_total's
// "message" label, docs/spec/metrics.md#counters).
enum class MessageKind : uint8_t {
  kUpdateAvailability,  // "Update Availability"
  kRequestUpdate,       // "Request Update"
  kRequestDataChunk,    // "Request Data Chunk"
  kResult,              // "Success", "Failure", "Boot Report"
  kProgress,            // "Progress"
  kOther,               // unknown, unparsable, or without a Message
};
inline constexpr size_t kMessageKinds = 6;

struct Publication {
  std::string topic;
  std::vector<uint8_t> payload;
};

// A device's report of what became of an update: a result or boot report
// with an Outcome, or a "Progress" message.
struct DeviceReport {
  std::string device;  // see Response::device
  std::string board;
  image::ImageVersion version{};
  std::string outcome;             // agent::outcome::k*, or "downloading"
  bool refused = false;            // reverted, rejected or refused: never offer it again
  std::optional<uint8_t> percent;  // "downloading": 0..100
  std::string reason;              // printable, at most 120 bytes
  bool verified = false;           // came on the device's own request topic
};

// A device asked what there is for it ("Update Availability").
struct DeviceSighting {
  std::string device;
  std::string board;
  image::ImageVersion version{};
  bool verified = false;
  std::string image_sha256;  // 64 lowercase hex digits, or "" when it did not say
};

struct Response {
  MessageKind message = MessageKind::kOther;  // what the request was, even when ignored
  LogLevel level = LogLevel::kWarn;
  std::string log;                   // one printable line, always set
  std::string device_topic;          // the (accepted) UniqueTopicName, "" if none
  std::vector<Publication> publish;  // job document, Result Received or one chunk
  EntryPtr remember_offer;           // device_topic was offered this image
  // ... in a job document that `publish` holds: the registry records an
  // "offered" event. Not when the image was only found again for a data
  // request without an offer in this server's memory (another instance,
  // or this one before a restart, made the offer and recorded it).
  bool offer_sent = false;
  bool awaits_follow_up = false;       // ... in a job document: the device should ask again
  bool forget_offer = false;           // device_topic's session is over
  EntryPtr stream;                     // push every chunk of this image to device_topic
  std::optional<DeviceReport> report;  // record in the device registry
  // Who asked, when the request names a device: from its own request topic
  // (verified: the broker's ACL ties that topic to the device's
  // certificate), else from its reply topic (a claim anyone could make).
  std::string device;
  bool verified = false;
  std::optional<DeviceSighting> sighting;  // "Update Availability": record the device
  std::optional<int64_t> campaign;         // remember_offer is this campaign's image
};

// The image this device topic was offered earlier, or nullptr.
using OfferLookup = std::function<EntryPtr(std::string_view unique_topic)>;
// Whether `device` reported `version` as reverted, rejected or refused.
using RefusedLookup =
    std::function<bool(std::string_view device, const image::ImageVersion& version)>;

// The fleet's answer to "what should this device get?": a campaign's image
// or nothing (docs/spec/fleet-campaigns.md#offers). Without one, the newest
// image of the catalog that the device did not refuse (the reference's
// behaviour, mqota-server --offer-newest). The views are valid during the
// call only.
struct Asker {
  std::string_view device;  // "" when the request names none
  std::string_view board;
  image::ImageVersion version{};
  bool verified = false;
};
struct Choice {
  EntryPtr entry;                   // nullptr: nothing for it
  std::string note;                 // why, for the log line
  std::optional<int64_t> campaign;  // the campaign it is offered for
};
using ChooseImage = std::function<Choice(const Asker& asker)>;

Response HandleRequest(std::string_view topic, std::span<const uint8_t> payload,
                       const Catalog& catalog, const OfferLookup& offered,
                       const HandlerConfig& config, const RefusedLookup& refused = {},
                       const ChooseImage& choose = {});

// The documents the server sends, all values strings
// (docs/spec/mqota-protocol.md#job-document-extensions).
// With `patch`, the job also offers that patch from the device's running
// image (docs/spec/mqota-protocol.md#patches).
std::string JobDocument(const CatalogEntry& entry, std::string_view unique_topic, uint16_t port,
                        const CatalogPatch* patch = nullptr);
std::string NoUpdateDocument(std::string_view unique_topic);
std::string ResultReceivedDocument(std::string_view unique_topic);

}  // namespace mqota::server
