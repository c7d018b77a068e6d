#include "versions.h"

#include "mqota/image/version.h"

namespace mqota::fleet {

std::optional<std::string> CanonicalVersion(std::string_view text) {
  const auto version = image::ParseVersion(text);
  if (!version) return std::nullopt;
  return std::to_string(version->major) + "." + std::to_string(version->minor) + "." +
         std::to_string(version->revision);
}

std::string StoredVersion(std::string_view text) {
  return CanonicalVersion(text).value_or(std::string(text));
}

bool OlderVersion(std::string_view a, std::string_view b) {
  const auto older = image::ParseVersion(a);
  const auto newer = image::ParseVersion(b);
  return older && newer && image::CompareVersions(*older, *newer) < 0;
}

}  // namespace mqota::fleet
