// MCUboot image versions: "major.minor.revision+build" (u8.u8.u16+u32).
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string_view>

#include "mqota/image/format.h"

namespace mqota::image {

// <0, 0, >0 as a < b, a == b, a > b. Like MCUboot: major, minor, revision; the
// build number only when `include_build` (MCUBOOT_VERSION_CMP_USE_BUILD_NUMBER).
int CompareVersions(const ImageVersion& a, const ImageVersion& b, bool include_build = false);

// Parses imgtool's syntax: `maj[.min[.rev[+build]]]`, decimal, no leading zeros,
// each part within its field's range. nullopt for anything else.
std::optional<ImageVersion> ParseVersion(std::string_view text);

// Longest text FormatVersion writes: "255.255.65535+4294967295" and a NUL.
inline constexpr size_t kVersionTextBytes = 25;

// Writes "maj.min.rev+build" and a NUL into `out`; returns the text's length.
size_t FormatVersion(const ImageVersion& version, std::span<char, kVersionTextBytes> out);

}  // namespace mqota::image
