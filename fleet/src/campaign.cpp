#include "mqota/fleet/campaign.h"

#include <algorithm>
#include <array>
#include <charconv>

namespace mqota::fleet {
namespace {

constexpr std::array<std::string_view, 5> kStatusNames = {"running", "paused", "halted",
                                                          "cancelled", "completed"};
constexpr std::array<std::string_view, 4> kStageNames = {"waiting", "offered", "confirmed",
                                                         "failed"};

template <typename Enum, size_t N>
std::optional<Enum> ParseName(const std::array<std::string_view, N>& names, std::string_view name) {
  for (size_t i = 0; i < N; ++i) {
    if (names[i] == name) return static_cast<Enum>(i);
  }
  return std::nullopt;
}

std::string_view Trim(std::string_view text) {
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  return text;
}

// Devices among `devices` that `size` covers (cumulative, before the
// strictly-increasing rule).
uint64_t Covered(const WaveSize& size, uint32_t devices) {
  if (!size.percent) return std::min<uint64_t>(size.value, devices);
  // Rounded up: 1 % of 50 devices is a canary of one, not none.
  return (uint64_t{size.value} * devices + 99) / 100;
}

uint64_t CeilShare(uint32_t percent, uint32_t of) { return (uint64_t{percent} * of + 99) / 100; }

std::string Percent(uint64_t part, uint64_t whole) {
  if (whole == 0) return "0%";
  return std::to_string(part * 100 / whole) + "%";
}

std::string WaveName(uint32_t index) { return "wave " + std::to_string(index + 1); }

}  // namespace

std::optional<std::vector<WaveSize>> ParseWaves(std::string_view text, std::string* error) {
  std::vector<WaveSize> waves;
  const auto fail = [&](const std::string& why) -> std::optional<std::vector<WaveSize>> {
    if (error) *error = why;
    return std::nullopt;
  };
  if (Trim(text).empty()) return fail("no waves given (e.g. 1%,10%,50%)");
  while (true) {
    const size_t comma = text.find(',');
    const std::string_view item = Trim(text.substr(0, comma));
    WaveSize size;
    std::string_view digits = item;
    size.percent = !item.empty() && item.back() == '%';
    if (size.percent) digits.remove_suffix(1);
    const auto* end = digits.data() + digits.size();
    const auto [ptr, ec] = std::from_chars(digits.data(), end, size.value);
    if (digits.empty() || ec != std::errc() || ptr != end) {
      return fail("\"" + std::string(item) + "\" is not a wave size (a count like 5, or 1%..100%)");
    }
    if (size.value == 0) return fail("a wave of \"" + std::string(item) + "\" holds nobody");
    if (size.percent && size.value > 100) {
      return fail("\"" + std::string(item) + "\" is more than 100%");
    }
    if (!waves.empty() && waves.back().percent == size.percent && size.value < waves.back().value) {
      return fail("waves are cumulative and must not shrink: \"" + std::string(item) +
                  "\" comes after " + FormatWaves({waves.back()}));
    }
    if (waves.size() == 64) return fail("more than 64 waves");
    waves.push_back(size);
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return waves;
}

std::string FormatWaves(const std::vector<WaveSize>& waves) {
  std::string text;
  for (const WaveSize& w : waves) {
    if (!text.empty()) text += ',';
    text += std::to_string(w.value);
    if (w.percent) text += '%';
  }
  return text;
}

std::string CheckRules(const CampaignRules& rules) {
  if (rules.waves.empty()) return "a campaign needs at least one wave";
  if (rules.success_percent > 100) return "the success gate must be 0..100%";
  if (rules.failure_percent > 100) return "the failure threshold must be 0..100%";
  if (rules.soak_ms < 0) return "the soak time must not be negative";
  if (rules.stall_ms <= 0) return "the stall time must be positive";
  return "";
}

std::string_view CampaignStatusName(CampaignStatus status) {
  return kStatusNames[static_cast<size_t>(status)];
}
std::optional<CampaignStatus> ParseCampaignStatus(std::string_view name) {
  return ParseName<CampaignStatus>(kStatusNames, name);
}
std::string_view StageName(Stage stage) { return kStageNames[static_cast<size_t>(stage)]; }
std::optional<Stage> ParseStage(std::string_view name) {
  return ParseName<Stage>(kStageNames, name);
}

std::vector<uint32_t> WaveEnds(const std::vector<WaveSize>& waves, uint32_t devices) {
  std::vector<uint32_t> ends;
  if (devices == 0) return ends;
  std::vector<WaveSize> all = waves;
  all.push_back({true, 100});  // everyone, at the end
  for (const WaveSize& size : all) {
    const uint64_t covered = Covered(size, devices);
    const uint32_t previous = ends.empty() ? 0 : ends.back();
    if (covered <= previous) continue;  // adds nobody
    ends.push_back(static_cast<uint32_t>(covered));
    if (ends.back() == devices) break;
  }
  return ends;
}

Step NextStep(const CampaignState& state, TimeMs now) {
  if (state.status != CampaignStatus::kRunning) return {};
  if (state.waves.empty()) return {Step::kComplete, "the campaign targets no device"};
  const uint32_t open =
      std::clamp<uint32_t>(state.open_waves, 1, static_cast<uint32_t>(state.waves.size()));
  uint64_t devices = 0;
  uint64_t failed = 0;
  uint64_t settled = 0;
  for (uint32_t i = 0; i < open; ++i) {
    devices += state.waves[i].devices;
    failed += state.waves[i].failed;
    settled += state.waves[i].confirmed + state.waves[i].failed;
  }
  // Failures first: a wave whose gate is met on the same tick as the
  // threshold is crossed must not open the next one.
  const uint64_t counted = failed - std::min<uint64_t>(failed, state.failures_accepted);
  if (counted > 0 && counted * 100 > uint64_t{state.rules.failure_percent} * devices) {
    const std::string accepted =
        state.failures_accepted > 0
            ? " (besides the " + std::to_string(state.failures_accepted) + " accepted at resume)"
            : "";
    return {Step::kHalt, std::to_string(counted) + " of " + std::to_string(devices) +
                             " devices in the open waves failed" + accepted + " (" +
                             Percent(counted, devices) + "), more than the " +
                             std::to_string(state.rules.failure_percent) + "% allowed"};
  }
  const uint32_t last = open - 1;
  const WaveTally& wave = state.waves[last];
  const bool final_wave = open == state.waves.size();
  if (final_wave) {
    if (settled < devices) return {};
    return {Step::kComplete, "every device confirmed or failed: " + std::to_string(failed) +
                                 " failed of " + std::to_string(devices)};
  }
  const uint64_t needed = CeilShare(state.rules.success_percent, wave.devices);
  if (wave.confirmed < needed) return {};
  const std::string gate = WaveName(last) + ": " + std::to_string(wave.confirmed) + " of " +
                           std::to_string(wave.devices) + " confirmed, " +
                           std::to_string(state.rules.success_percent) + "% needed";
  if (!state.gate_met_at) {
    if (state.rules.soak_ms > 0) {
      return {Step::kGateMet, gate + "; soaking " + std::to_string(state.rules.soak_ms / 1000) +
                                  " s before " + WaveName(last + 1)};
    }
    return {Step::kOpenWave, gate + "; opening " + WaveName(last + 1)};
  }
  if (now - *state.gate_met_at < state.rules.soak_ms) return {};
  return {Step::kOpenWave, gate + " and soaked; opening " + WaveName(last + 1)};
}

OfferVerdict MayOffer(const CampaignState& state, uint32_t wave, Stage stage) {
  if (state.status != CampaignStatus::kRunning) {
    return {false, "the campaign is " + std::string(CampaignStatusName(state.status))};
  }
  if (wave >= state.open_waves) return {false, "its " + WaveName(wave) + " is not open yet"};
  switch (stage) {
    case Stage::kConfirmed: return {false, "it already confirmed this campaign's image"};
    case Stage::kFailed: return {false, "it failed this campaign's image"};
    case Stage::kOffered:
      return {true, ""};  // again: it lost the offer, or retries after a power cut
    case Stage::kWaiting: break;
  }
  if (state.rules.max_in_flight > 0 && state.in_flight >= state.rules.max_in_flight) {
    return {false, std::to_string(state.in_flight) + " devices are updating, the cap"};
  }
  if (state.rules.starts_per_minute > 0 &&
      state.starts_last_minute >= state.rules.starts_per_minute) {
    return {false, "the start rate (" + std::to_string(state.rules.starts_per_minute) +
                       " a minute) is reached"};
  }
  return {true, ""};
}

std::optional<CampaignStatus> Pause(CampaignStatus status, std::string* error) {
  if (status == CampaignStatus::kRunning) return CampaignStatus::kPaused;
  if (error)
    *error = "the campaign is " + std::string(CampaignStatusName(status)) + ", not running";
  return std::nullopt;
}

std::optional<CampaignStatus> Resume(CampaignStatus status, std::string* error) {
  if (status == CampaignStatus::kPaused || status == CampaignStatus::kHalted) {
    return CampaignStatus::kRunning;
  }
  if (error) {
    *error =
        "the campaign is " + std::string(CampaignStatusName(status)) + ", not paused or halted";
  }
  return std::nullopt;
}

std::optional<CampaignStatus> Cancel(CampaignStatus status, std::string* error) {
  if (status == CampaignStatus::kCancelled || status == CampaignStatus::kCompleted) {
    if (error) *error = "the campaign is already " + std::string(CampaignStatusName(status));
    return std::nullopt;
  }
  return CampaignStatus::kCancelled;
}

std::optional<Stage> StageAfter(Stage current, EventKind kind) {
  if (current == Stage::kConfirmed || current == Stage::kFailed) return std::nullopt;
  if (kind == EventKind::kConfirmed) return Stage::kConfirmed;
  if (IsFailure(kind)) return Stage::kFailed;
  if (current == Stage::kWaiting) return Stage::kOffered;  // offered, or news of work on it
  return std::nullopt;
}

}  // namespace mqota::fleet
