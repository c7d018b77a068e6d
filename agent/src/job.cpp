#include "mqota/agent/job.h"

#include <algorithm>

#include "mqota/agent/protocol.h"
#include "mqota/base/decimal.h"

namespace mqota::agent {
namespace {

bool ParseU32(std::string_view text, uint32_t max, uint32_t& out) {
  if (text.empty() || text.size() > 10) return false;
  uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + static_cast<uint64_t>(c - '0');
  }
  if (value > max) return false;
  out = static_cast<uint32_t>(value);
  return true;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

template <size_t N>
bool CopyField(std::string_view value, std::array<char, N>& out) {
  if (value.size() >= N) return false;
  std::copy(value.begin(), value.end(), out.begin());
  out[value.size()] = '\0';
  return true;
}

class JobVisitor final : public JsonMemberVisitor {
 public:
  void OnMember(const JsonMember& m) override {
    if (m.type != JsonType::kString) return;  // every protocol value is a string
    if (KeyEquals(m.key, key::kMessage)) {
      seen_message = true;
      if (m.value == message::kUpdateAvailable) {
        job.kind = JobKind::kUpdateAvailable;
      } else if (m.value == message::kNoUpdateAvailable) {
        job.kind = JobKind::kNoUpdate;
      } else if (m.value == message::kResultReceived) {
        job.kind = JobKind::kResultReceived;
      } else {
        not_a_job = true;
      }
    } else if (KeyEquals(m.key, key::kVersion)) {
      version_ok = ParseProtocolVersion(m.value, job.version);
    } else if (KeyEquals(m.key, key::kBoard)) {
      too_long |= !CopyField(m.value, job.board);
    } else if (KeyEquals(m.key, key::kBroker) || KeyEquals(m.key, key::kServer)) {
      too_long |= !CopyField(m.value, job.broker);
    } else if (KeyEquals(m.key, key::kPort)) {
      // "" is the reference device's 0: the broker it is connected to.
      uint32_t port = 0;
      if (!m.value.empty() && !ParseU32(m.value, 65535, port)) bad_field = true;
      job.port = static_cast<uint16_t>(port);
    } else if (KeyEquals(m.key, key::kConnection)) {
      // The reference compares over the value's length, so "MQ" passes; we
      // want the whole word.
      if (!KeyEquals(m.value, kConnectionMqtt)) bad_connection = true;
    } else if (KeyEquals(m.key, key::kImageSize)) {
      if (!ParseU32(m.value, UINT32_MAX, job.image_size_bytes)) bad_field = true;
    } else if (KeyEquals(m.key, key::kChunkSize)) {
      if (!ParseU32(m.value, 65536, job.chunk_bytes)) bad_field = true;
    } else if (KeyEquals(m.key, key::kChunkCrc)) {
      // An algorithm this device does not know is not an error: no CRC.
      job.chunk_crc32c = KeyEquals(m.value, kChunkCrc32c);
    } else if (KeyEquals(m.key, key::kImageSha256)) {
      std::array<uint8_t, 32> digest{};
      if (!ParseDigest(m.value, digest)) {
        bad_field = true;
        return;
      }
      std::copy_n(digest.begin(), job.image_tag.size(), job.image_tag.begin());
      job.has_image_tag = true;
    } else if (KeyEquals(m.key, key::kPatchSize)) {
      if (!ParseU32(m.value, UINT32_MAX, job.patch_size_bytes) || job.patch_size_bytes == 0) {
        bad_field = true;
      }
    } else if (KeyEquals(m.key, key::kPatchSha256)) {
      seen_patch_digest = true;
      if (!ParseDigest(m.value, job.patch_sha256)) bad_field = true;
    }
  }

  // 64 hex digits, either case.
  static bool ParseDigest(std::string_view text, std::array<uint8_t, 32>& out) {
    if (text.size() != 2 * out.size()) return false;
    for (size_t i = 0; i < out.size(); ++i) {
      const int hi = HexValue(text[2 * i]), lo = HexValue(text[2 * i + 1]);
      if (hi < 0 || lo < 0) return false;
      out[i] = static_cast<uint8_t>(hi << 4 | lo);
    }
    return true;
  }

  JobDocument job;
  bool seen_message = false;
  bool not_a_job = false;
  bool version_ok = false;
  bool bad_connection = false;
  bool bad_field = false;
  bool too_long = false;
  bool seen_patch_digest = false;
};

}  // namespace

const char* Describe(JobErrc code) {
  switch (code) {
    case JobErrc::kMalformed: return "the job document is not valid JSON";
    case JobErrc::kNotAJob: return "the message is not a job document";
    case JobErrc::kBadVersion: return "the job's Version is missing or not major.minor.build";
    case JobErrc::kBadConnection: return "the job asks for a connection other than MQTT";
    case JobErrc::kBadField: return "a job field has an invalid value";
    case JobErrc::kTooLong: return "a job field is longer than the device accepts";
  }
  return "unknown job error";
}

bool ParseProtocolVersion(std::string_view text, image::ImageVersion& out) {
  uint32_t parts[3] = {};
  const uint32_t max[3] = {255, 255, 65535};
  for (int i = 0; i < 3; ++i) {
    const size_t dot = i < 2 ? text.find('.') : text.size();
    if (dot == std::string_view::npos) return false;
    if (!ParseU32(std::string_view(text.data(), dot), max[i], parts[i])) return false;
    text = i < 2 ? std::string_view(text.data() + dot + 1, text.size() - dot - 1) : text;
  }
  out = {static_cast<uint8_t>(parts[0]), static_cast<uint8_t>(parts[1]),
         static_cast<uint16_t>(parts[2]), 0};
  return true;
}

Result<JobDocument, JobErrc> ParseJob(std::string_view text) {
  if (text.size() > kMaxJsonDocumentBytes + 1) return JobErrc::kMalformed;
  std::array<char, kMaxJsonDocumentBytes + 1> scratch{};
  JobVisitor visitor;
  if (!ReadJsonObject(text, scratch, visitor).ok()) return JobErrc::kMalformed;
  if (!visitor.seen_message || visitor.not_a_job) return JobErrc::kNotAJob;
  if (visitor.job.kind != JobKind::kUpdateAvailable) return visitor.job;
  if (!visitor.version_ok) return JobErrc::kBadVersion;
  if (visitor.bad_connection) return JobErrc::kBadConnection;
  // A patch is named by both its size and its digest, or not offered.
  if (visitor.bad_field || visitor.seen_patch_digest != visitor.job.has_patch()) {
    return JobErrc::kBadField;
  }
  if (visitor.too_long) return JobErrc::kTooLong;
  return visitor.job;
}

std::string_view FormatProtocolVersion(const image::ImageVersion& v,
                                       std::span<char, kProtocolVersionTextBytes> out) {
  size_t n = FormatDecimal(v.major, out);
  out[n++] = '.';
  n += FormatDecimal(v.minor, out.subspan(n));
  out[n++] = '.';
  n += FormatDecimal(v.revision, out.subspan(n));
  return {out.data(), n};
}

}  // namespace mqota::agent
