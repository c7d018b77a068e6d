// The HTTP API's JSON (docs/spec/fleet-api.md): the registry's records as
// JSON, and the request bodies an API client sends, parsed and validated.
// Bodies are hostile input: every parser here returns a sentence instead of
// throwing, refuses unknown fields, and has a libFuzzer target
// (fuzz/api_body_fuzz.cpp).
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "mqota/fleet/registry.h"

namespace mqota::server::api {

using nlohmann::json;

// "2026-12-06T03:10:00.123Z".
std::string IsoTime(fleet::TimeMs time);

json ToJson(const fleet::Device& device);
json ToJson(const fleet::DeviceEvent& event);
json ToJson(const fleet::Image& image);
json ToJson(const fleet::Campaign& campaign);
json ToJson(const fleet::CampaignLogEntry& entry);
json ToJson(const fleet::FleetCounts& counts);
// {"times": [iso…], "series": [{"board", "version", "devices": [n…]}…]}.
json ToJson(const fleet::VersionHistory& history);
// Adds each wave's "progress" (fleet::WaveProgress) to a campaign's "waves".
void AddProgress(json& campaign, const std::vector<fleet::WaveProgress>& progress);

// The body of POST /api/v1/campaigns. The image is named by id or by board
// and version; it is resolved against the registry by the caller.
struct CampaignRequest {
  std::string name;
  std::optional<int64_t> image_id;
  std::string image_board;
  std::string image_version;
  fleet::CampaignTarget target;
  fleet::CampaignRules rules;
};

// The parsed request, or one sentence saying what is wrong with it.
std::variant<CampaignRequest, std::string> ParseCampaignRequest(std::string_view body);

// The body of PUT /api/v1/devices/<id>/tags: {"tags": ["eu", ...]}.
std::variant<std::vector<std::string>, std::string> ParseTagsRequest(std::string_view body);

// Largest body read; larger ones are refused unread (413).
inline constexpr size_t kMaxBodyBytes = size_t{64} * 1024;

}  // namespace mqota::server::api
