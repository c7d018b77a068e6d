#include "mqota/server/api_json.h"

#include <ctime>
#include <set>

#include "mqota/fleet/campaign.h"

namespace mqota::server::api {
namespace {

// Thrown inside the parsers only, and caught at their edge: a sentence.
struct BadRequest {
  std::string why;
};

json ParseObject(std::string_view body) {
  if (body.size() > kMaxBodyBytes) throw BadRequest{"the body is larger than 64 KiB"};
  json j = json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) throw BadRequest{"the body is not valid JSON"};
  if (!j.is_object()) throw BadRequest{"the body must be a JSON object"};
  return j;
}

void OnlyKnownFields(const json& object, const std::set<std::string>& known,
                     const std::string& where) {
  for (const auto& [key, value] : object.items()) {
    if (known.count(key) == 0) {
      std::string why = "unknown field \"" + key;
      why += "\"";
      why += where;
      why += " (known: ";
      for (const auto& k : known) {
        if (k != *known.begin()) why += ", ";
        why += k;
      }
      why += ")";
      throw BadRequest{why};
    }
  }
}

std::string String(const json& object, const std::string& key, size_t max_bytes) {
  const json& v = object.at(key);
  if (!v.is_string()) throw BadRequest{"\"" + key + "\" must be a string"};
  std::string text = v.get<std::string>();
  if (text.size() > max_bytes) {
    throw BadRequest{"\"" + key + "\" is longer than " + std::to_string(max_bytes) + " bytes"};
  }
  return text;
}

int64_t Whole(const json& object, const std::string& key, int64_t low, int64_t high) {
  const json& v = object.at(key);
  const std::string range = "from " + std::to_string(low) + " to " + std::to_string(high);
  if (!v.is_number_integer() && !v.is_number_unsigned()) {
    throw BadRequest{"\"" + key + "\" must be a whole number " + range};
  }
  if (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(high)) {
    throw BadRequest{"\"" + key + "\" must be " + range};
  }
  const int64_t n = v.get<int64_t>();
  if (n < low || n > high) throw BadRequest{"\"" + key + "\" must be " + range};
  return n;
}

void ParseImage(const json& v, CampaignRequest& r) {
  if (v.is_number_integer() || v.is_number_unsigned()) {
    r.image_id = Whole(json{{"image", v}}, "image", 1, INT64_MAX);
    return;
  }
  if (!v.is_object()) {
    throw BadRequest{"\"image\" must be an image id or {\"board\": ..., \"version\": ...}"};
  }
  OnlyKnownFields(v, {"board", "version"}, " in \"image\"");
  if (!v.contains("board") || !v.contains("version")) {
    throw BadRequest{"\"image\" needs \"board\" and \"version\""};
  }
  r.image_board = String(v, "board", 128);
  r.image_version = String(v, "version", 32);
}

void ParseTarget(const json& v, fleet::CampaignTarget& t) {
  if (!v.is_object()) throw BadRequest{"\"target\" must be an object"};
  OnlyKnownFields(v, {"board", "devices", "tag", "from_version"}, " in \"target\"");
  if (v.contains("board")) t.board = String(v, "board", 128);
  if (v.contains("tag")) t.tag = String(v, "tag", 64);
  if (v.contains("from_version")) t.from_version = String(v, "from_version", 32);
  if (v.contains("devices")) {
    const json& list = v.at("devices");
    if (!list.is_array()) throw BadRequest{"\"devices\" must be a list of device ids"};
    if (list.size() > 100000) throw BadRequest{"\"devices\" lists more than 100000 devices"};
    for (const json& d : list) {
      if (!d.is_string() || d.get<std::string>().empty() || d.get<std::string>().size() > 128) {
        throw BadRequest{"\"devices\" must hold device ids (strings of 1 to 128 bytes)"};
      }
      t.devices.push_back(d.get<std::string>());
    }
    if (t.devices.empty()) throw BadRequest{"\"devices\" is empty: leave it out to target all"};
  }
}

void ParseRules(const json& j, fleet::CampaignRules& rules) {
  constexpr int64_t kDayMs = int64_t{24} * 3600 * 1000;
  if (j.contains("waves")) {
    std::string error;
    auto waves = fleet::ParseWaves(String(j, "waves", 512), &error);
    if (!waves) throw BadRequest{"\"waves\": " + error};
    rules.waves = std::move(*waves);
  }
  if (j.contains("success_percent")) {
    rules.success_percent = static_cast<uint32_t>(Whole(j, "success_percent", 0, 100));
  }
  if (j.contains("failure_percent")) {
    rules.failure_percent = static_cast<uint32_t>(Whole(j, "failure_percent", 0, 100));
  }
  if (j.contains("soak_seconds"))
    rules.soak_ms = Whole(j, "soak_seconds", 0, int64_t{30} * 86400) * 1000;
  if (j.contains("max_in_flight")) {
    rules.max_in_flight = static_cast<uint32_t>(Whole(j, "max_in_flight", 0, 1000000));
  }
  if (j.contains("starts_per_minute")) {
    rules.starts_per_minute = static_cast<uint32_t>(Whole(j, "starts_per_minute", 0, 1000000));
  }
  if (j.contains("stall_seconds")) {
    rules.stall_ms = Whole(j, "stall_seconds", 1, 7 * kDayMs / 1000) * 1000;
  }
}

}  // namespace

std::string IsoTime(fleet::TimeMs time) {
  const std::time_t seconds = static_cast<std::time_t>(time / 1000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[40];
  const size_t n = std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &utc);
  char millis[8];
  std::snprintf(millis, sizeof millis, ".%03dZ", static_cast<int>(((time % 1000) + 1000) % 1000));
  return std::string(text, n) + millis;
}

json ToJson(const fleet::Device& d) {
  return {{"id", d.id},
          {"board", d.board},
          {"version", d.version},
          {"image_hash", d.image_hash},
          {"state", d.state},
          {"tags", d.tags},
          {"verified", d.verified},
          {"online", d.online},
          {"first_seen", IsoTime(d.first_seen)},
          {"last_seen", IsoTime(d.last_seen)}};
}

json ToJson(const fleet::DeviceEvent& e) {
  json j = {{"id", e.id},           {"time", IsoTime(e.time)},
            {"device", e.device},   {"event", std::string(fleet::EventKindName(e.kind))},
            {"version", e.version}, {"verified", e.verified}};
  if (e.campaign) j["campaign"] = *e.campaign;
  if (e.percent) j["percent"] = *e.percent;
  if (!e.reason.empty()) j["reason"] = e.reason;
  return j;
}

json ToJson(const fleet::Image& i) {
  return {{"id", i.id},         {"board", i.board},         {"version", i.version},
          {"sha256", i.sha256}, {"key_hash", i.key_hash},   {"size", i.size},
          {"path", i.path},     {"added", IsoTime(i.added)}};
}

json ToJson(const fleet::CampaignLogEntry& entry) {
  return {{"time", IsoTime(entry.time)}, {"action", entry.action}, {"reason", entry.reason}};
}

json ToJson(const fleet::Campaign& c) {
  json waves = json::array();
  fleet::WaveTally total;
  for (size_t i = 0; i < c.waves.size(); ++i) {
    const fleet::WaveTally& w = c.waves[i];
    waves.push_back({{"wave", i + 1},
                     {"open", i < c.open_waves},
                     {"devices", w.devices},
                     {"waiting", w.devices - w.offered - w.confirmed - w.failed},
                     {"in_progress", w.offered},
                     {"confirmed", w.confirmed},
                     {"failed", w.failed}});
    total.devices += w.devices;
    total.offered += w.offered;
    total.confirmed += w.confirmed;
    total.failed += w.failed;
  }
  json target = {{"board", c.target.board}};
  if (!c.target.devices.empty()) target["devices"] = c.target.devices;
  if (!c.target.tag.empty()) target["tag"] = c.target.tag;
  if (!c.target.from_version.empty()) target["from_version"] = c.target.from_version;
  json j = {{"id", c.id},
            {"name", c.name},
            {"image", ToJson(c.image)},
            {"target", target},
            {"rules",
             {{"waves", fleet::FormatWaves(c.rules.waves)},
              {"success_percent", c.rules.success_percent},
              {"failure_percent", c.rules.failure_percent},
              {"soak_seconds", c.rules.soak_ms / 1000},
              {"max_in_flight", c.rules.max_in_flight},
              {"starts_per_minute", c.rules.starts_per_minute},
              {"stall_seconds", c.rules.stall_ms / 1000}}},
            {"status", std::string(fleet::CampaignStatusName(c.status))},
            {"status_reason", c.status_reason},
            {"open_waves", c.open_waves},
            {"failures_accepted", c.failures_accepted},
            {"waves", waves},
            {"totals",
             {{"devices", total.devices},
              {"waiting", total.devices - total.offered - total.confirmed - total.failed},
              {"in_progress", total.offered},
              {"confirmed", total.confirmed},
              {"failed", total.failed}}},
            {"created", IsoTime(c.created)},
            {"updated", IsoTime(c.updated)}};
  j["gate_met_at"] = c.gate_met_at ? json(IsoTime(*c.gate_met_at)) : json(nullptr);
  return j;
}

json ToJson(const fleet::FleetCounts& c) {
  json versions = json::array();
  for (const auto& v : c.versions) {
    versions.push_back(
        {{"board", v.board}, {"version", v.version}, {"devices", v.devices}, {"online", v.online}});
  }
  return {{"devices", c.devices},
          {"online", c.online},
          {"versions", versions},
          {"states", c.states},
          {"campaigns", c.campaigns}};
}

json ToJson(const fleet::VersionHistory& h) {
  json times = json::array();
  for (const fleet::TimeMs t : h.times) times.push_back(IsoTime(t));
  json series = json::array();
  for (const auto& s : h.series) {
    series.push_back({{"board", s.board}, {"version", s.version}, {"devices", s.devices}});
  }
  return {{"times", times}, {"series", series}};
}

void AddProgress(json& campaign, const std::vector<fleet::WaveProgress>& progress) {
  json& waves = campaign["waves"];
  for (size_t i = 0; i < progress.size() && i < waves.size(); ++i) {
    const fleet::WaveProgress& p = progress[i];
    waves[i]["progress"] = {{"waiting", p.waiting},         {"offered", p.offered},
                            {"downloading", p.downloading}, {"confirmed", p.confirmed},
                            {"reverted", p.reverted},       {"failed", p.failed}};
  }
}

std::variant<CampaignRequest, std::string> ParseCampaignRequest(std::string_view body) {
  try {
    const json j = ParseObject(body);
    OnlyKnownFields(j,
                    {"name", "image", "target", "waves", "success_percent", "failure_percent",
                     "soak_seconds", "max_in_flight", "starts_per_minute", "stall_seconds"},
                    "");
    CampaignRequest r;
    if (!j.contains("name")) throw BadRequest{"\"name\" is missing"};
    r.name = String(j, "name", 100);
    if (r.name.empty()) throw BadRequest{"\"name\" is empty"};
    if (!j.contains("image")) throw BadRequest{"\"image\" is missing"};
    ParseImage(j.at("image"), r);
    if (j.contains("target")) ParseTarget(j.at("target"), r.target);
    ParseRules(j, r.rules);
    return r;
  } catch (const BadRequest& e) {
    return e.why;
  } catch (const json::exception& e) {
    // The checks above leave none; a sentence rather than a crash if one slips.
    return std::string("the body does not fit: ") + e.what();
  }
}

std::variant<std::vector<std::string>, std::string> ParseTagsRequest(std::string_view body) {
  try {
    const json j = ParseObject(body);
    OnlyKnownFields(j, {"tags"}, "");
    if (!j.contains("tags") || !j.at("tags").is_array()) {
      throw BadRequest{"\"tags\" must be a list of strings"};
    }
    std::vector<std::string> tags;
    for (const json& t : j.at("tags")) {
      if (!t.is_string() || t.get<std::string>().empty() || t.get<std::string>().size() > 64) {
        throw BadRequest{"\"tags\" must hold strings of 1 to 64 bytes"};
      }
      tags.push_back(t.get<std::string>());
    }
    if (tags.size() > 64) throw BadRequest{"more than 64 tags"};
    return tags;
  } catch (const BadRequest& e) {
    return e.why;
  } catch (const json::exception& e) {
    return std::string("the body does not fit: ") + e.what();
  }
}

}  // namespace mqota::server::api
