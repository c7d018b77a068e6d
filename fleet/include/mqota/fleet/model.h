// The fleet's vocabulary: what the registry stores about devices, images,
// campaigns and events, independent of where it is stored
// (docs/spec/fleet-registry.md). Plain values; no I/O.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mqota::fleet {

// Wall-clock time, milliseconds since the Unix epoch (UTC). The registry
// outlives processes and machines, so a steady clock cannot stand in.
using TimeMs = int64_t;

// What became of an update on one device, in the order it usually happens.
// Each kind is one row in a device's history; "downloading" carries a
// percentage, the failures a reason.
enum class EventKind : uint8_t {
  kOffered,      // the server sent it a job document for a version
  kDownloading,  // progress, `percent` set
  kDownloaded,   // every chunk stored
  kVerified,     // hash and signature checked on the device
  kPending,      // marked for install at the next reset
  kBooted,       // the bootloader started the new image
  kConfirmed,    // the image made itself permanent: the update succeeded
  kReverted,     // booted but never confirmed: the bootloader went back
  kRejected,     // the bootloader refused to install it
  kRefused,      // the device refused the image (failed verification, erased)
  kFailed,       // the download or install failed, `reason` says why
  kInterrupted,  // reverted after a power loss: not the image's fault; retried
};

inline constexpr EventKind kAllEventKinds[] = {
    EventKind::kOffered,  EventKind::kDownloading, EventKind::kDownloaded, EventKind::kVerified,
    EventKind::kPending,  EventKind::kBooted,      EventKind::kConfirmed,  EventKind::kReverted,
    EventKind::kRejected, EventKind::kRefused,     EventKind::kFailed,     EventKind::kInterrupted,
};

// "offered", "downloading", ...: the names stored and shown.
std::string_view EventKindName(EventKind kind);
std::optional<EventKind> ParseEventKind(std::string_view name);

// Reverted, rejected, refused and failed: the outcomes that count against a
// campaign. Reverted, rejected and refused also mean the device never gets
// that version again.
bool IsFailure(EventKind kind);
bool BarsVersion(EventKind kind);

struct DeviceEvent {
  std::string device;
  TimeMs time = 0;
  EventKind kind = EventKind::kOffered;
  std::string version;              // "major.minor.revision"
  std::optional<int64_t> campaign;  // the campaign it belongs to, if any
  std::optional<uint8_t> percent;   // kDownloading: 0..100
  std::string reason;               // failures: why; may be empty
  bool verified = true;             // false: came on the shared topic (reference device)
  // A report the device sends again until it is acknowledged: not recorded
  // when the device's newest event of this version (progress aside) is
  // already of this kind, checked under the device's row lock, so that two
  // servers given the same report at once record it once
  // (docs/spec/fleet-registry.md#recording-an-event).
  bool unless_repeated = false;
  int64_t id = 0;  // set by the registry
};

// A device as the registry knows it.
struct Device {
  std::string id;
  std::string board;
  std::string version;     // what it said it runs, last time it asked
  std::string image_hash;  // SHA-256 hex of the running image, when known
  std::string state;       // the last event's kind name, or "seen"
  std::vector<std::string> tags;
  bool verified = false;  // it spoke on its own, ACL-bound topic at least once
  bool online = false;
  TimeMs first_seen = 0;
  TimeMs last_seen = 0;
};

// An image of the catalog.
struct Image {
  int64_t id = 0;  // set by the registry
  std::string board;
  std::string version;  // "major.minor.revision"
  std::string sha256;   // hex
  uint64_t size = 0;
  std::string path;
  TimeMs added = 0;
  // SHA-256 (hex) of the public key the image is signed with: its KEYHASH
  // TLV, or the hash of its PUBKEY TLV; "" when unsigned or not known.
  std::string key_hash;
};

}  // namespace mqota::fleet
