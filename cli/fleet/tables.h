// `mqota fleet`'s tables for people: the API's JSON (docs/spec/fleet-api.md)
// as aligned columns, one row per item, and a campaign as its waves.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace mqota::cli::fleet {

// Columns padded to their widest cell; the header first.
std::string Table(const std::vector<std::string>& header,
                  const std::vector<std::vector<std::string>>& rows);

std::string DevicesTable(const nlohmann::json& answer);    // {"devices": [...]}
std::string DeviceDetail(const nlohmann::json& device);    // with "history"
std::string ImagesTable(const nlohmann::json& answer);     // {"images": [...]}
std::string CampaignsTable(const nlohmann::json& answer);  // {"campaigns": [...]}
std::string CampaignDetail(const nlohmann::json& campaign);

}  // namespace mqota::cli::fleet
