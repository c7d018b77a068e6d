#include "mqota/boot/boot_record.h"

#include "mqota/base/endian.h"

namespace mqota::boot {
namespace {

constexpr uint8_t kFormat = 1;
constexpr uint8_t kFlagResumed = 0x01;
constexpr uint8_t kFlagConfirmed = 0x02;
constexpr uint8_t kFlagPrevious = 0x04;

void PutVersion(std::span<uint8_t> out, size_t at, const image::ImageVersion& v) {
  out[at] = v.major;
  out[at + 1] = v.minor;
  StoreLe16(out, at + 2, v.revision);
  StoreLe32(out, at + 4, v.build);
}

image::ImageVersion GetVersion(std::span<const uint8_t> in, size_t at) {
  return {in[at], in[at + 1], LoadLe16(in, at + 2), LoadLe32(in, at + 4)};
}

}  // namespace

BootRecord MakeBootRecord(const BootOutcome& outcome) {
  return BootRecord{outcome.swap,
                    outcome.resumed,
                    outcome.confirmed,
                    outcome.rejected,
                    outcome.image_error,
                    outcome.layout.header.version,
                    outcome.rejected_version,
                    outcome.previous_version};
}

std::array<uint8_t, kBootRecordBytes> EncodeBootRecord(const BootRecord& r) {
  std::array<uint8_t, kBootRecordBytes> out{};
  StoreLe32(out, 0, kBootRecordMagic);
  out[4] = kFormat;
  out[5] = static_cast<uint8_t>(r.swap);
  out[6] =
      static_cast<uint8_t>((r.resumed ? kFlagResumed : 0) | (r.confirmed ? kFlagConfirmed : 0) |
                           (r.previous_version ? kFlagPrevious : 0));
  out[7] = static_cast<uint8_t>(r.rejected);
  out[8] = static_cast<uint8_t>(r.image_error.code);
  StoreLe32(out, 12, r.image_error.offset);
  PutVersion(out, 16, r.booted_version);
  PutVersion(out, 24, r.rejected_version);
  if (r.previous_version) PutVersion(out, 32, *r.previous_version);
  StoreLe32(out, 44, Crc32c(std::span(out).first(44)));
  return out;
}

std::optional<BootRecord> DecodeBootRecord(std::span<const uint8_t, kBootRecordBytes> in) {
  if (LoadLe32(in, 0) != kBootRecordMagic || in[4] != kFormat ||
      LoadLe32(in, 44) != Crc32c(in.first(44))) {
    return std::nullopt;
  }
  const uint8_t swap = in[5];
  const uint8_t rejected = in[7];
  if (swap < static_cast<uint8_t>(SwapType::kNone) ||
      swap > static_cast<uint8_t>(SwapType::kFail) ||
      rejected > static_cast<uint8_t>(RejectReason::kNoImage) ||
      in[8] > static_cast<uint8_t>(image::ImageErrc::kUnsupportedSignature)) {
    return std::nullopt;
  }
  BootRecord r;
  r.swap = static_cast<SwapType>(swap);
  r.resumed = (in[6] & kFlagResumed) != 0;
  r.confirmed = (in[6] & kFlagConfirmed) != 0;
  r.rejected = static_cast<RejectReason>(rejected);
  r.image_error = {static_cast<image::ImageErrc>(in[8]), LoadLe32(in, 12)};
  r.booted_version = GetVersion(in, 16);
  r.rejected_version = GetVersion(in, 24);
  if ((in[6] & kFlagPrevious) != 0) r.previous_version = GetVersion(in, 32);
  return r;
}

}  // namespace mqota::boot
