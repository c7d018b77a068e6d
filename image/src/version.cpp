#include "mqota/image/version.h"

#include <cstdint>

#include "mqota/base/decimal.h"

namespace mqota::image {
namespace {

int Compare(uint64_t a, uint64_t b) { return a < b ? -1 : (a > b ? 1 : 0); }

// Consumes a decimal number without leading zeros and at most `max`.
std::optional<uint32_t> TakeNumber(std::string_view& text, uint32_t max) {
  size_t digits = 0;
  uint64_t value = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') {
    value = value * 10 + static_cast<uint64_t>(text[digits] - '0');
    if (value > max) return std::nullopt;
    ++digits;
  }
  if (digits == 0 || (digits > 1 && text[0] == '0')) return std::nullopt;
  text.remove_prefix(digits);
  return static_cast<uint32_t>(value);
}

// Writes the decimal digits of `value` at out[pos...]; returns the new position.
size_t PutNumber(uint32_t value, std::span<char> out, size_t pos) {
  return pos + FormatDecimal(value, out.subspan(pos));
}

}  // namespace

int CompareVersions(const ImageVersion& a, const ImageVersion& b, bool include_build) {
  if (int c = Compare(a.major, b.major); c != 0) return c;
  if (int c = Compare(a.minor, b.minor); c != 0) return c;
  if (int c = Compare(a.revision, b.revision); c != 0) return c;
  return include_build ? Compare(a.build, b.build) : 0;
}

std::optional<ImageVersion> ParseVersion(std::string_view text) {
  ImageVersion version;
  auto major = TakeNumber(text, UINT8_MAX);
  if (!major) return std::nullopt;
  version.major = static_cast<uint8_t>(*major);
  if (!text.empty() && text[0] == '.') {
    text.remove_prefix(1);
    auto minor = TakeNumber(text, UINT8_MAX);
    if (!minor) return std::nullopt;
    version.minor = static_cast<uint8_t>(*minor);
    if (!text.empty() && text[0] == '.') {
      text.remove_prefix(1);
      auto revision = TakeNumber(text, UINT16_MAX);
      if (!revision) return std::nullopt;
      version.revision = static_cast<uint16_t>(*revision);
      if (!text.empty() && text[0] == '+') {
        text.remove_prefix(1);
        auto build = TakeNumber(text, UINT32_MAX);
        if (!build) return std::nullopt;
        version.build = *build;
      }
    }
  }
  if (!text.empty()) return std::nullopt;
  return version;
}

size_t FormatVersion(const ImageVersion& version, std::span<char, kVersionTextBytes> out) {
  size_t pos = PutNumber(version.major, out, 0);
  out[pos++] = '.';
  pos = PutNumber(version.minor, out, pos);
  out[pos++] = '.';
  pos = PutNumber(version.revision, out, pos);
  out[pos++] = '+';
  pos = PutNumber(version.build, out, pos);
  out[pos] = '\0';
  return pos;
}

}  // namespace mqota::image
