// The version history's arithmetic, shared by every backend
// (docs/spec/fleet-registry.md#version-history): a backend reads the devices
// by board and version as they are now and the version changes after the
// first moment asked for, newest first; this unwinds them backwards.
#pragma once

#include <map>
#include <optional>
#include <span>
#include <string>
#include <utility>

#include "mqota/fleet/registry.h"

namespace mqota::fleet {

using BoardVersion = std::pair<std::string, std::string>;

// One row of version_changes: a device became known (`before` unset) or
// moved from `before` to `after` at `time`.
struct VersionChange {
  TimeMs time = 0;
  std::optional<BoardVersion> before;
  BoardVersion after;
};

// The most moments one VersionsOver answers.
inline constexpr size_t kMaxHistoryPoints = 10000;

// RegistryRefusal unless `times` is ascending and at most kMaxHistoryPoints.
void CheckHistoryTimes(std::span<const TimeMs> times);

// `now`: devices by board and version now; `changes_newest_first`: every
// change later than times.front(), newest first.
VersionHistory BuildVersionHistory(std::map<BoardVersion, int64_t> now,
                                   std::span<const VersionChange> changes_newest_first,
                                   std::span<const TimeMs> times);

}  // namespace mqota::fleet
