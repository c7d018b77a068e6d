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

struct Publication {
  std::string topic;
  std::vector<uint8_t> payload;
};

// A device's report of what became of an update (a result with an Outcome).
struct DeviceReport {
  std::string device;  // from its reply topic (DeviceOfReplyTopic)
  image::ImageVersion version{};
  std::string outcome;   // agent::outcome::k*
  bool refused = false;  // reverted, rejected or refused: never offer it again
};

struct Response {
  LogLevel level = LogLevel::kWarn;
  std::string log;                     // one printable line, always set
  std::string device_topic;            // the (accepted) UniqueTopicName, "" if none
  std::vector<Publication> publish;    // job document, Result Received or one chunk
  EntryPtr remember_offer;             // device_topic was offered this image
  bool awaits_follow_up = false;       // ... in a job document: the device should ask again
  bool forget_offer = false;           // device_topic's session is over
  EntryPtr stream;                     // push every chunk of this image to device_topic
  std::optional<DeviceReport> report;  // record in the device registry
};

// The image this device topic was offered earlier, or nullptr.
using OfferLookup = std::function<EntryPtr(std::string_view unique_topic)>;
// Whether `device` reported `version` as reverted, rejected or refused.
using RefusedLookup =
    std::function<bool(std::string_view device, const image::ImageVersion& version)>;

Response HandleRequest(std::string_view topic, std::span<const uint8_t> payload,
                       const Catalog& catalog, const OfferLookup& offered,
                       const HandlerConfig& config, const RefusedLookup& refused = {});

// The documents the server sends, all values strings
// (docs/spec/mqota-protocol.md#job-document-extensions).
std::string JobDocument(const CatalogEntry& entry, std::string_view unique_topic, uint16_t port);
std::string NoUpdateDocument(std::string_view unique_topic);
std::string ResultReceivedDocument(std::string_view unique_topic);

}  // namespace mqota::server
