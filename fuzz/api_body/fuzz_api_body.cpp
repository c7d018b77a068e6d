// Fuzz target: the fleet API's request bodies (server/src/api_json.cpp), the
// campaign and the tags body, on arbitrary bytes.
//
// Property: each parser returns for any input, without an exception or a
// crash, either a request or a non-empty sentence; an accepted campaign has
// a name of 1..100 bytes, an image by id or by name (not both), rules that
// CheckRules accepts, and its waves
// formatted and parsed again give the same waves.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <variant>

#include "mqota/fleet/campaign.h"
#include "mqota/server/api_json.h"

namespace {

void Check(bool property) {
  if (!property) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace mqota;
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  const auto campaign = server::api::ParseCampaignRequest(body);
  if (const auto* why = std::get_if<std::string>(&campaign)) {
    Check(!why->empty());
  } else {
    const auto& r = std::get<server::api::CampaignRequest>(campaign);
    Check(!r.name.empty() && r.name.size() <= 100);
    // An image by id or by board and version, never both.
    Check(!(r.image_id.has_value() && (!r.image_board.empty() || !r.image_version.empty())));
    Check(fleet::CheckRules(r.rules).empty());
    std::string error;
    const auto again = fleet::ParseWaves(fleet::FormatWaves(r.rules.waves), &error);
    Check(again.has_value() && *again == r.rules.waves);
  }
  const auto tags = server::api::ParseTagsRequest(body);
  if (const auto* why = std::get_if<std::string>(&tags)) Check(!why->empty());
  return 0;
}
