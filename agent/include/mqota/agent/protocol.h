// The anycloud-ota MQTT protocol, in one place
// (docs/spec/reference-protocol.md#topics to #chunk-format): topic names,
// message strings, JSON keys and the 32-byte chunk header, and mqota's
// extensions (docs/spec/mqota-protocol.md#compatibility-principle). The agent,
// mqota-server, the tests and the tools all use this header; none keeps its
// own copy of a string below.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "mqota/base/result.h"

namespace mqota::agent {

// Topics: the request topic is "<prefix>/<board>/publish_notify"; answers go to
// the UniqueTopicName the device sent. The reference derives that name from a
// 16-bit tick (guessable, and colliding between devices: R18); mqota makes it
// "<prefix>/<board>/OTAImage/<device id>/<random>", so a broker ACL can give
// each device its own subtree.
inline constexpr std::string_view kRequestTopicLeaf = "publish_notify";
inline constexpr std::string_view kUniqueTopicPart = "OTAImage";
// The reference's shared "direct" topic: every device of a board receives what
// is published there. mqota never subscribes to it.
inline constexpr std::string_view kDirectTopicPart = "OTAImage";

// mqota's device topics (docs/spec/mqota-protocol.md#device-topics), used only
// when an mqota-server has announced itself on "<prefix>/<kServerAnnounce>":
// "<prefix>/<board>/device/<device id>/request" carries the device's requests
// and reports (the broker's ACL lets only that device publish there, so the
// topic names the sender), "<prefix>/<board>/device/<device id>/notify" the
// server's nudges to check now. A reference publisher hears only the shared
// request topic, and a device that saw no announcement uses that.
inline constexpr std::string_view kDeviceTopicPart = "device";
inline constexpr std::string_view kDeviceRequestLeaf = "request";
inline constexpr std::string_view kDeviceNotifyLeaf = "notify";
// "<prefix>/<board>/device/<device id>/status": the device's presence
// (docs/spec/mqota-protocol.md#presence), retained; set by the port's MQTT
// connection (a birth message on connecting, the will when it is lost), not
// by the agent.
inline constexpr std::string_view kDeviceStatusLeaf = "status";
inline constexpr std::string_view kStatusOnline = R"({"Online":true})";
inline constexpr std::string_view kStatusOffline = R"({"Online":false})";
inline constexpr std::string_view kServerAnnounce = "mqota-server/announce";

// "Message" values.
namespace message {
inline constexpr std::string_view kUpdateAvailability =
    "Update Availability";  // device: any update?
inline constexpr std::string_view kUpdateAvailable =
    "Update Available";  // server: the job document
inline constexpr std::string_view kNoUpdateAvailable = "No Update Available";
inline constexpr std::string_view kRequestUpdate = "Request Update";  // device: send the image
inline constexpr std::string_view kRequestDataChunk = "Request Data Chunk";  // device: one chunk
inline constexpr std::string_view kSendDirectUpdate = "Send Direct Update";  // legacy 4.0/4.1 flow
inline constexpr std::string_view kSuccess = "Success";
inline constexpr std::string_view kFailure = "Failure";
inline constexpr std::string_view kResultReceived = "Result Received";
// mqota's extension: what the last boot did with an update (Outcome confirmed,
// reverted, interrupted or rejected), sent at the start of the next session
// and acknowledged with "Result Received". Its own message, not a second
// "Success", so that a publisher that counts results counts one per update;
// a reference publisher ignores it ("Could not understand the message!") and
// the agent asks for its job after the job timeout.
inline constexpr std::string_view kBootReport = "Boot Report";
// mqota's extensions on the device topics only (a reference publisher never
// sees them): how a download is going (State, Percent), and the server's
// nudge on the notify topic.
inline constexpr std::string_view kProgress = "Progress";
inline constexpr std::string_view kCheckNow = "Check Now";
inline constexpr std::string_view kServerAnnouncement = "mqota-server";
}  // namespace message

// JSON keys as the reference spells them. Devices match keys case-insensitively
// at exact length, so "ManufacturerID" and "ManufacturerId" are the same key.
namespace key {
inline constexpr std::string_view kMessage = "Message";
inline constexpr std::string_view kManufacturer = "Manufacturer";
inline constexpr std::string_view kManufacturerId = "ManufacturerID";
inline constexpr std::string_view kProductId = "ProductID";
inline constexpr std::string_view kProduct = "Product";
inline constexpr std::string_view kSerialNumber = "SerialNumber";
inline constexpr std::string_view kBoardName = "BoardName";  // in device requests
inline constexpr std::string_view kBoard = "Board";          // in job documents
inline constexpr std::string_view kVersion = "Version";
inline constexpr std::string_view kUniqueTopicName = "UniqueTopicName";
inline constexpr std::string_view kConnection = "Connection";
inline constexpr std::string_view kBroker = "Broker";
inline constexpr std::string_view kServer = "Server";
inline constexpr std::string_view kPort = "Port";
inline constexpr std::string_view kFile = "File";
inline constexpr std::string_view kFilename = "Filename";
inline constexpr std::string_view kOffset = "Offset";
inline constexpr std::string_view kSize = "Size";
// mqota's extensions, negotiated by fields the reference ignores (it logs and
// skips unknown keys): in job documents, and the reason of a Failure result.
inline constexpr std::string_view kImageSize = "ImageSize";
inline constexpr std::string_view kChunkSize = "ChunkSize";
inline constexpr std::string_view kImageSha256 = "ImageSha256";
inline constexpr std::string_view kReason = "Reason";
// mqota's extension of Success/Failure: which step of an update the result
// is about (the reference sends one result, and only in theory, R7).
inline constexpr std::string_view kOutcome = "Outcome";
// In "Progress": "downloading" with "Percent" (0..100).
inline constexpr std::string_view kState = "State";
inline constexpr std::string_view kPercent = "Percent";
inline constexpr std::string_view kStateDownloading = "downloading";
// Per-chunk CRC32C: the server offers it in the job ("ChunkCrc": "crc32c");
// the device accepts with "AcceptChunkCrc": "crc32c" in its "Request Data
// Chunk" messages, and only then does the answer carry the CRC (see the chunk
// header). The acceptance has a key of its own, never found in a job
// document, because the reference emulator builds each chunk request from
// the whole job it received: echoing "ChunkCrc" must not turn CRCs on for a
// device that cannot strip them.
inline constexpr std::string_view kChunkCrc = "ChunkCrc";
inline constexpr std::string_view kAcceptChunkCrc = "AcceptChunkCrc";
// Delta updates (docs/spec/mqota-protocol.md#patches): the device says it
// applies patches ("AcceptPatch": kPatchFormatDelta2, in "Update
// Availability" with its ImageSha256); the job then may carry the patch's
// size and digest, and each "Request Data Chunk" of the patch names it.
inline constexpr std::string_view kAcceptPatch = "AcceptPatch";
inline constexpr std::string_view kPatchSize = "PatchSize";
inline constexpr std::string_view kPatchSha256 = "PatchSha256";
}  // namespace key

// The "AcceptPatch" value of a device that applies docs/spec/delta-patch.md's
// format 2 (and 1). mqota-server makes format 2 only: a device that says
// "mqota-delta-1" (an agent from before format 2) is sent whole images.
inline constexpr std::string_view kPatchFormatDelta2 = "mqota-delta-2";

// Values of key::kOutcome.
namespace outcome {
inline constexpr std::string_view kPending = "pending";      // verified, installed at next reset
inline constexpr std::string_view kFailed = "failed";        // the download could not be stored
inline constexpr std::string_view kRefused = "refused";      // failed verification, erased
inline constexpr std::string_view kConfirmed = "confirmed";  // booted, healthy, made permanent
inline constexpr std::string_view kReverted = "reverted";    // booted but never confirmed
inline constexpr std::string_view kInterrupted = "interrupted";  // reverted after a power loss
inline constexpr std::string_view kRejected = "rejected";  // the bootloader refused to install it
}  // namespace outcome

// The only "ChunkCrc" value so far.
inline constexpr std::string_view kChunkCrc32c = "crc32c";

// The job's "Connection" value for data over the same MQTT broker.
inline constexpr std::string_view kConnectionMqtt = "MQTT";

// Size limits of the reference device, which mqota keeps so that documents it
// sends fit a reference device and the other way round.
inline constexpr size_t kMaxJsonDocumentBytes = 1023;
inline constexpr size_t kReferenceChunkDataBytes = 4096;

// The binary chunk: a 32-byte little-endian header, then the data at
// offset_to_data (docs/spec/reference-protocol.md#chunk-header; Python struct
// "<8s5H2I3H").
//
// mqota's negotiated extensions ("Request Data Chunk", used by the agent in
// pull mode when the job carries "ChunkSize" and "ImageSize";
// docs/spec/mqota-protocol.md#chunk-crc-trailer):
// - Chunk size: the device asks for any "Size" of 1..kMaxChunkDataBytes
//   (data_size is a u16, so 64 KiB itself cannot be carried); it keeps to
//   one size per download, a multiple of its flash write size.
// - CRC: when the job offered "ChunkCrc": "crc32c" and the request accepts it
//   ("AcceptChunkCrc": "crc32c"), the answer carries kChunkCrcBytes more bytes right after the
//   data: the CRC-32C (Castagnoli, base/crc32c.h) of the data bytes, little-endian. offset_to_data
//   stays 32 and data_size excludes the CRC, so a reference device, which reads data_size bytes at
//   offset_to_data, ignores it. Chunks pushed for "Request Update" never carry it.
inline constexpr size_t kChunkHeaderBytes = 32;
inline constexpr size_t kMaxChunkDataBytes = 65535;
inline constexpr size_t kChunkCrcBytes = 4;
inline constexpr std::string_view kChunkMagic = "OTAImage";
inline constexpr uint16_t kImageTypeOneFile = 0;

struct ChunkHeader {
  uint16_t offset_to_data = kChunkHeaderBytes;
  uint16_t image_type = kImageTypeOneFile;
  uint16_t version_major = 0;
  uint16_t version_minor = 0;
  uint16_t version_build = 0;
  uint32_t total_size = 0;
  uint32_t image_offset = 0;
  uint16_t data_size = 0;
  uint16_t total_num_payloads = 0;
  uint16_t this_payload_index = 0;

  friend constexpr bool operator==(const ChunkHeader&, const ChunkHeader&) = default;
};

enum class ChunkError : uint8_t {
  kTooShort,            // fewer than 32 bytes
  kBadMagic,            // not "OTAImage"
  kBadImageType,        // image_type != 0
  kBadDataOffset,       // offset_to_data < 32 or beyond the payload
  kDataOutsidePayload,  // data_size runs past the end of the payload (the reference reads on: R5)
  kDataOutsideImage,    // image_offset + data_size > total_size
  kBadIndex,            // this_payload_index >= total_num_payloads
};

const char* Describe(ChunkError error);

struct Chunk {
  ChunkHeader header;
  std::span<const uint8_t> data;  // exactly data_size bytes, inside the payload
};

// Decodes and bounds-checks one chunk payload: every length and offset is
// checked against the payload and the image it claims to belong to, so what
// comes back can be written to flash as it is (checks against the slot and
// the session are the caller's).
Result<Chunk, ChunkError> DecodeChunk(std::span<const uint8_t> payload);

// Writes the 32 header bytes (magic included).
void EncodeChunkHeader(const ChunkHeader& header, std::span<uint8_t, kChunkHeaderBytes> out);

// The CRC trailer of a decoded chunk: true when `payload` holds, right after
// the chunk's data, the 4-byte little-endian CRC-32C of that data.
bool ChunkCrcMatches(std::span<const uint8_t> payload, const ChunkHeader& header);

// mqota::Crc32c (base/crc32c.h) of `data`, table-driven: chunks are
// kilobytes, not the few dozen bytes of a record (1 KiB of tables, about 8
// times faster than bitwise).
uint32_t ChunkCrc32c(std::span<const uint8_t> data);

// The 4 trailer bytes for `data`.
std::array<uint8_t, kChunkCrcBytes> ChunkCrcBytes(std::span<const uint8_t> data);

}  // namespace mqota::agent
