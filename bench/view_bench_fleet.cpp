#include "view_bench_fleet.h"

#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "mqota/fleet/sqlite_registry.h"

namespace mqota::bench {
namespace {

namespace fs = std::filesystem;
using fleet::DeviceEvent;
using fleet::EventKind;
using fleet::TimeMs;

constexpr TimeMs kHour = TimeMs{3600} * 1000;
constexpr TimeMs kDay = 24 * kHour;
constexpr std::array<const char*, 3> kBoards = {"NRF52840_DK", "STM32F429_DISCO", "ESP32_C3"};
constexpr std::array<const char*, 3> kVersions = {"1.0.0", "1.1.0", "1.2.0"};

// 60 % of the devices on the first board, 30 % on the second, 10 % on the third.
const char* BoardOf(size_t i) { return kBoards[i % 10 < 6 ? 0 : i % 10 < 9 ? 1 : 2]; }

std::string Hex64(std::mt19937_64& rng) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (int i = 0; i < 64; ++i) hex += kHex[rng() % 16];
  return hex;
}

class Writer {
 public:
  explicit Writer(fleet::Registry& registry) : registry_(registry) {}
  void Add(const std::string& device, TimeMs time, EventKind kind, const std::string& version,
           std::optional<uint8_t> percent = std::nullopt, std::string reason = "") {
    DeviceEvent e;
    e.device = device;
    e.time = time;
    e.kind = kind;
    e.version = version;
    e.percent = percent;
    e.reason = std::move(reason);
    pending_.push_back(std::move(e));
    if (pending_.size() >= 2000) Flush();
  }
  // Offered, downloading 25..100 %, and on to `last` (booted, confirmed,
  // reverted) or stopped while downloading.
  TimeMs Update(const std::string& device, TimeMs t, const std::string& version, EventKind last) {
    Add(device, t, EventKind::kOffered, version);
    for (uint8_t p = 25; p <= 100; p += 25) {
      t += 8000;
      Add(device, t, EventKind::kDownloading, version, p);
      if (last == EventKind::kDownloading && p == 50) return t;
    }
    for (EventKind k :
         {EventKind::kDownloaded, EventKind::kVerified, EventKind::kPending, EventKind::kBooted}) {
      t += 2000;
      Add(device, t, k, version);
    }
    t += 30000;
    if (last == EventKind::kReverted) {
      Add(device, t, EventKind::kReverted, version, std::nullopt,
          "not confirmed after the update: the bootloader reverted it");
    } else {
      Add(device, t, EventKind::kConfirmed, version);
    }
    return t;
  }
  void Flush() {
    if (pending_.empty()) return;
    for (const auto& outcome : registry_.RecordAll(pending_)) {
      if (!outcome.recorded) throw std::runtime_error("an event was refused: " + outcome.refusal);
    }
    written_ += pending_.size();
    pending_.clear();
  }
  size_t written() const { return written_; }

 private:
  fleet::Registry& registry_;
  std::vector<DeviceEvent> pending_;
  size_t written_ = 0;
};

void Seed(fleet::Registry& r, size_t devices, TimeMs now, SeededFleet& out) {
  std::mt19937_64 rng(20261206);
  const auto uniform = [&](TimeMs span) { return static_cast<TimeMs>(rng() % span); };
  const auto chance = [&](double p) { return static_cast<double>(rng() % 10000) < p * 10000; };
  std::vector<std::string> ids;
  for (size_t i = 0; i < devices; ++i) {
    char id[32];
    std::snprintf(id, sizeof id, "dev-%05zu", i);
    ids.emplace_back(id);
    r.SeeDevice(
        {ids.back(), BoardOf(i), "1.0.0", Hex64(rng), true, now - 7 * kDay + uniform(kDay)});
  }
  // Images of every board, each signed by the board's key.
  std::vector<std::array<int64_t, 3>> images;
  for (const char* board : kBoards) {
    const std::string key = Hex64(rng);
    std::array<int64_t, 3> ids_of{};
    for (size_t v = 0; v < kVersions.size(); ++v) {
      fleet::Image image;
      image.board = board;
      image.version = kVersions[v];
      image.sha256 = Hex64(rng);
      image.size = 400000 + rng() % 200000;
      image.path = std::string("/var/lib/mqota/catalog/") + board + "-" + kVersions[v] + ".bin";
      image.added = now - 8 * kDay + static_cast<TimeMs>(v) * 2 * kDay;
      image.key_hash = key;
      ids_of[v] = r.AddImage(image);
    }
    images.push_back(ids_of);
  }
  const auto campaign = [&](size_t board, size_t version, TimeMs at, const char* waves) {
    fleet::NewCampaign c;
    c.name = std::string("release ") + kVersions[version] + " for " + kBoards[board];
    c.image = images[board][version];
    std::string error;
    c.rules.waves = *fleet::ParseWaves(waves, &error);
    c.time = at;
    return r.CreateCampaign(c);
  };
  Writer events(r);
  // 1.1.0: five days ago, to 90 % of the devices; complete.
  std::vector<int64_t> first;
  for (size_t b = 0; b < kBoards.size(); ++b)
    first.push_back(campaign(b, 1, now - 5 * kDay, "1%,10%,100%"));
  std::vector<std::pair<TimeMs, size_t>> moved;  // (when, device) that now run 1.1.0
  for (size_t i = 0; i < devices; ++i) {
    if (!chance(0.9)) continue;
    const TimeMs done =
        events.Update(ids[i], now - 5 * kDay + uniform(2 * kDay), "1.1.0", EventKind::kConfirmed);
    moved.emplace_back(done + 60000, i);
  }
  events.Flush();
  for (const auto& [t, i] : moved) r.SeeDevice({ids[i], BoardOf(i), "1.1.0", "", true, t});
  out.version_changes += moved.size();
  for (const int64_t id : first)
    r.ApplyStep(id, {fleet::Step::kComplete, "every wave confirmed"}, now - 3 * kDay);
  // 1.2.0: since yesterday, half the devices so far: most confirmed, a
  // few reverted, some still downloading.
  for (size_t b = 0; b < kBoards.size(); ++b) campaign(b, 2, now - kDay, "1%,10%,50%,100%");
  moved.clear();
  for (size_t i = 0; i < devices; ++i) {
    if (!chance(0.5)) continue;
    const double roll = static_cast<double>(rng() % 100);
    const EventKind last = roll < 4    ? EventKind::kReverted
                           : roll < 10 ? EventKind::kDownloading
                                       : EventKind::kConfirmed;
    const TimeMs done = events.Update(ids[i], now - kDay + uniform(22 * kHour), "1.2.0", last);
    if (last == EventKind::kConfirmed) moved.emplace_back(done + 60000, i);
  }
  events.Flush();
  for (const auto& [t, i] : moved) r.SeeDevice({ids[i], BoardOf(i), "1.2.0", "", true, t});
  out.version_changes += moved.size();
  for (size_t i = 0; i < devices; ++i) {
    if (i == 0 || chance(0.85)) r.SetOnline(ids[i], true, now - uniform(kHour));
  }
  out.devices = devices;
  out.events = events.written();
}

}  // namespace

SeededFleet SeedFleet(const fs::path& db, size_t devices, TimeMs now) {
  const auto start = std::chrono::steady_clock::now();
  SeededFleet out;
  fs::path scratch;
  if (fs::is_directory("/dev/shm")) {
    char pattern[] = "/dev/shm/mqota-bench-view-XXXXXX";
    if (mkdtemp(pattern) != nullptr) scratch = pattern;
  }
  const fs::path written = scratch.empty() ? db : scratch / "fleet.db";
  {
    auto registry = fleet::OpenSqliteRegistry(written);
    Seed(*registry, devices, now, out);
  }  // closed: the WAL is checkpointed into the file
  if (!scratch.empty()) {
    fs::copy_file(written, db, fs::copy_options::overwrite_existing);
    fs::remove_all(scratch);
  }
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return out;
}

}  // namespace mqota::bench
