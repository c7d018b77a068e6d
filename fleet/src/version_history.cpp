#include "version_history.h"

#include <algorithm>

namespace mqota::fleet {

void CheckHistoryTimes(std::span<const TimeMs> times) {
  if (times.size() > kMaxHistoryPoints) {
    throw RegistryRefusal("a version history of " + std::to_string(times.size()) +
                          " moments is more than " + std::to_string(kMaxHistoryPoints));
  }
  if (!std::is_sorted(times.begin(), times.end())) {
    throw RegistryRefusal("a version history's moments must be in ascending order");
  }
}

VersionHistory BuildVersionHistory(std::map<BoardVersion, int64_t> now,
                                   std::span<const VersionChange> changes_newest_first,
                                   std::span<const TimeMs> times) {
  VersionHistory history;
  history.times.assign(times.begin(), times.end());
  std::map<BoardVersion, std::vector<uint64_t>> series;
  std::map<BoardVersion, int64_t>& counts = now;
  size_t next = 0;  // the newest change not unwound yet
  for (size_t k = times.size(); k-- > 0;) {
    // Unwind what happened after this moment: the device leaves the version
    // it moved to and returns to the one it had (or was not there yet).
    while (next < changes_newest_first.size() && changes_newest_first[next].time > times[k]) {
      const VersionChange& change = changes_newest_first[next++];
      --counts[change.after];
      if (change.before) ++counts[*change.before];
    }
    for (const auto& [key, n] : counts) {
      // A negative count cannot be (every change left its version in the
      // devices table); shown as none rather than wrapped around.
      if (n <= 0) continue;
      auto [it, added] = series.try_emplace(key);
      if (added) it->second.assign(times.size(), 0);
      it->second[k] = static_cast<uint64_t>(n);
    }
  }
  for (auto& [key, devices] : series) {
    history.series.push_back({key.first, key.second, std::move(devices)});
  }
  return history;
}

}  // namespace mqota::fleet
