#include "campaign_json.h"

#include <nlohmann/json.hpp>

namespace mqota::fleet {

using nlohmann::json;

std::string RulesToJson(const CampaignRules& rules) {
  return json{{"waves", FormatWaves(rules.waves)},
              {"success_percent", rules.success_percent},
              {"soak_ms", rules.soak_ms},
              {"failure_percent", rules.failure_percent},
              {"max_in_flight", rules.max_in_flight},
              {"starts_per_minute", rules.starts_per_minute},
              {"stall_ms", rules.stall_ms}}
      .dump();
}

std::string TargetToJson(const CampaignTarget& target) {
  return json{{"board", target.board},
              {"devices", target.devices},
              {"tag", target.tag},
              {"from_version", target.from_version}}
      .dump();
}

namespace {

json Parse(const std::string& text, const char* what) {
  json value = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!value.is_object()) {
    throw RegistryError(std::string("a campaign's stored ") + what + " are not a JSON object");
  }
  return value;
}

template <typename T>
void Take(const json& object, const char* key, T& field, const char* what) {
  const auto it = object.find(key);
  if (it == object.end()) return;
  try {
    field = it->template get<T>();
  } catch (const json::exception&) {
    throw RegistryError(std::string("a campaign's stored ") + what + " have a bad \"" + key + "\"");
  }
}

}  // namespace

CampaignRules RulesFromJson(const std::string& text) {
  const json object = Parse(text, "rules");
  CampaignRules rules;
  std::string waves = FormatWaves(rules.waves);
  Take(object, "waves", waves, "rules");
  std::string error;
  auto parsed = ParseWaves(waves, &error);
  if (!parsed) throw RegistryError("a campaign's stored waves do not parse: " + error);
  rules.waves = std::move(*parsed);
  Take(object, "success_percent", rules.success_percent, "rules");
  Take(object, "soak_ms", rules.soak_ms, "rules");
  Take(object, "failure_percent", rules.failure_percent, "rules");
  Take(object, "max_in_flight", rules.max_in_flight, "rules");
  Take(object, "starts_per_minute", rules.starts_per_minute, "rules");
  Take(object, "stall_ms", rules.stall_ms, "rules");
  return rules;
}

CampaignTarget TargetFromJson(const std::string& text) {
  const json object = Parse(text, "target");
  CampaignTarget target;
  Take(object, "board", target.board, "target");
  Take(object, "devices", target.devices, "target");
  Take(object, "tag", target.tag, "target");
  Take(object, "from_version", target.from_version, "target");
  return target;
}

}  // namespace mqota::fleet
