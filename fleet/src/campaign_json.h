// A campaign's rules and target as JSON text, the form the backends store
// them in (docs/spec/fleet-registry.md#campaigns): one column each, so a new
// rule needs no schema migration. Backend-neutral.
#pragma once

#include <string>

#include "mqota/fleet/campaign.h"
#include "mqota/fleet/registry.h"

namespace mqota::fleet {

std::string RulesToJson(const CampaignRules& rules);
std::string TargetToJson(const CampaignTarget& target);

// Throw RegistryError when the text is not what *ToJson wrote (a damaged
// database). A missing rule takes its default: rules added later read old
// rows.
CampaignRules RulesFromJson(const std::string& text);
CampaignTarget TargetFromJson(const std::string& text);

}  // namespace mqota::fleet
