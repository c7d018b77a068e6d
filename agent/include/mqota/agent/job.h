// The job document a server sends in answer to "Update Availability"
// (docs/spec/reference-protocol.md#job-document), parsed with the reference
// device's rules where they are sound and stricter where they are not: the
// Message is checked (R9), the version must be "major.minor.build" decimal,
// unknown keys are tolerated (docs/spec/mqota-protocol.md#job-document-extensions).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "mqota/agent/json.h"
#include "mqota/base/result.h"
#include "mqota/image/format.h"

namespace mqota::agent {

// What a message on the device's job topic says. "Result Received" is the
// server's acknowledgement of a result the device sent: a normal message of the
// protocol, not a job and not an error.
enum class JobKind : uint8_t { kUpdateAvailable, kNoUpdate, kResultReceived };

enum class JobErrc : uint8_t {
  kMalformed,      // not a JSON object, or invalid JSON
  kNotAJob,        // Message is none of the job topic's messages
  kBadVersion,     // Version missing or not major.minor.build
  kBadConnection,  // Connection other than MQTT
  kBadField,       // Port or an mqota extension field with an invalid value
  kTooLong,        // a field longer than the device keeps
};

const char* Describe(JobErrc code);

inline constexpr size_t kMaxBoardBytes = 32;
inline constexpr size_t kMaxBrokerBytes = 64;

struct JobDocument {
  JobKind kind = JobKind::kNoUpdate;
  image::ImageVersion version;  // build number 0: the protocol has three parts
  std::array<char, kMaxBoardBytes + 1> board{};
  std::array<char, kMaxBrokerBytes + 1> broker{};  // "" = the current broker
  uint16_t port = 0;                               // 0 = the current port
  // mqota's extensions (absent from a reference publisher's job):
  uint32_t image_size_bytes = 0;        // "ImageSize"
  uint32_t chunk_bytes = 0;             // "ChunkSize"
  std::array<uint8_t, 16> image_tag{};  // first bytes of "ImageSha256"
  bool has_image_tag = false;
  bool chunk_crc32c = false;  // "ChunkCrc": "crc32c" (other values: no CRC)
  // A patch from the running image to this one ("PatchSize" and
  // "PatchSha256", both or neither): offered only to a device that said
  // "AcceptPatch".
  uint32_t patch_size_bytes = 0;
  std::array<uint8_t, 32> patch_sha256{};
  bool has_patch() const { return patch_size_bytes != 0; }

  std::string_view board_name() const { return board.data(); }
  std::string_view broker_host() const { return broker.data(); }
};

// The document, or why it is not one. For kNoUpdate and kResultReceived only
// `kind` is meaningful (the other fields are not checked). Errors:
//   kNotAJob: another message of the protocol's topics; keep waiting.
//   kMalformed, kBadVersion, kBadConnection, kBadField, kTooLong: an answer
//   this device cannot take; end the session.
Result<JobDocument, JobErrc> ParseJob(std::string_view text);

// "major.minor.build" as the protocol writes versions (all decimal, at most
// 65535 each; major and minor at most 255 to fit an MCUboot header).
bool ParseProtocolVersion(std::string_view text, image::ImageVersion& out);

// Its inverse: "major.minor.revision" (the protocol has no build number)
// into `out`; returns the text written there.
inline constexpr size_t kProtocolVersionTextBytes = 24;
std::string_view FormatProtocolVersion(const image::ImageVersion& version,
                                       std::span<char, kProtocolVersionTextBytes> out);

}  // namespace mqota::agent
