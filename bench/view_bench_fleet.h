// The registry mqota-bench-view measures: `devices` devices on three boards,
// a week of history written straight through the Registry API (sightings,
// two rollouts with every event a device reports, reverts, downloads under
// way, 85 % online), as a registry of a real fleet looks after a week.
#pragma once

#include <cstddef>
#include <filesystem>

#include "mqota/fleet/model.h"

namespace mqota::bench {

struct SeededFleet {
  size_t devices = 0;
  size_t events = 0;
  size_t version_changes = 0;  // sightings that moved a device's version
  double seconds = 0;          // how long writing it took
};

// Writes the fleet into a new SQLite registry at `db`, as of `now`. The
// writes go to tmpfs (/dev/shm) when there is one and the file is then
// copied to `db`: a sighting is one transaction with fsync, 3.6 ms each on
// this machine's disk, and the measurement is of reads. Throws
// fleet::RegistryError.
SeededFleet SeedFleet(const std::filesystem::path& db, size_t devices, fleet::TimeMs now);

// The device whose events the lag measurement records: first in the device
// list (ordered by id), so the fleet page shows it.
inline constexpr char kWatchedDevice[] = "dev-00000";

}  // namespace mqota::bench
