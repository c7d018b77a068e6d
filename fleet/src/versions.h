// Versions as the registry stores and compares them: major.minor.revision,
// the part of an MCUboot version the bootloader and the protocol compare
// (docs/spec/fleet-registry.md#versions). Backend-neutral.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace mqota::fleet {

// "1.2.3" for any text image::ParseVersion accepts ("1.2.3+4", "1.2" is
// "1.2.0"); nullopt for anything else.
std::optional<std::string> CanonicalVersion(std::string_view text);

// What is stored for a version a device or the server reported: the
// canonical form, or the text as given when it is not a version (kept, so
// the history shows what was said).
std::string StoredVersion(std::string_view text);

// Whether `a` is older than `b`; false when either is not a version.
bool OlderVersion(std::string_view a, std::string_view b);

}  // namespace mqota::fleet
