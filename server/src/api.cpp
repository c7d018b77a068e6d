#include "mqota/server/api.h"

#include <sys/random.h>

#include <array>
#include <charconv>
#include <cstdint>

#include "mqota/server/api_json.h"

namespace mqota::server {
namespace {

using api::json;

constexpr std::string_view kRoot = "/api/v1/";
// GET /api/v1/versions/history (docs/spec/fleet-api.md#version-history).
constexpr uint32_t kMaxHistoryWindowS = 31 * 86400;
constexpr uint32_t kDefaultHistorySteps = 96;
constexpr uint32_t kMaxHistorySteps = 1000;

ApiResponse Json(int status, const json& body) {
  // Device-supplied text is printable already; `replace` keeps a stray
  // invalid byte from turning a response into an exception.
  return {status, body.dump(-1, ' ', false, json::error_handler_t::replace)};
}

ApiResponse Error(int status, const std::string& sentence) {
  return Json(status, {{"error", sentence}});
}

std::vector<std::string> Split(std::string_view path) {
  std::vector<std::string> parts;
  while (!path.empty()) {
    const size_t slash = path.find('/');
    parts.emplace_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return parts;
}

std::optional<int64_t> ParseId(std::string_view text) {
  int64_t id = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (ec != std::errc() || end != text.data() + text.size() || id <= 0) return std::nullopt;
  return id;
}

std::optional<uint32_t> QueryNumber(const ApiRequest& r, const std::string& key, uint32_t low,
                                    uint32_t high, uint32_t fallback, std::string* error) {
  const auto it = r.query.find(key);
  if (it == r.query.end()) return fallback;
  uint32_t n = 0;
  const std::string& text = it->second;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || end != text.data() + text.size() || n < low || n > high) {
    *error = "?" + key + "= must be a whole number from " + std::to_string(low) + " to " +
             std::to_string(high);
    return std::nullopt;
  }
  return n;
}

// Equal strings in a time that depends on their length only.
bool SameSecret(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  }
  return diff == 0;
}

}  // namespace

std::string NewApiToken() {
  std::array<unsigned char, 32> bytes{};
  size_t got = 0;
  while (got < bytes.size()) {
    const ssize_t n = getrandom(bytes.data() + got, bytes.size() - got, 0);
    if (n < 0) throw std::runtime_error("getrandom failed");
    got += static_cast<size_t>(n);
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string token;
  for (unsigned char b : bytes) {
    token += kHex[b >> 4];
    token += kHex[b & 0xf];
  }
  return token;
}

Api::Api(fleet::Registry& registry, std::string token, std::function<void()> changed,
         std::string viewer_token)
    : registry_(registry),
      token_(std::move(token)),
      viewer_token_(std::move(viewer_token)),
      changed_(std::move(changed)) {}

Role Api::Authorize(std::string_view authorization) const {
  constexpr std::string_view kBearer = "Bearer ";
  if (!authorization.starts_with(kBearer)) return Role::kNone;
  const std::string_view offered = authorization.substr(kBearer.size());
  if (!token_.empty() && SameSecret(offered, token_)) return Role::kOperator;
  if (!viewer_token_.empty() && SameSecret(offered, viewer_token_)) return Role::kViewer;
  return Role::kNone;
}

ApiResponse Api::Handle(const ApiRequest& request, fleet::TimeMs now) const {
  const Role role = Authorize(request.authorization);
  if (role == Role::kNone) {
    return Error(401, request.authorization.empty()
                          ? "no token: send \"Authorization: Bearer <token>\" (the token is in "
                            "mqota-server's --api-token-file)"
                          : "wrong token");
  }
  if (role == Role::kViewer && request.method != "GET") {
    return Error(403, "the viewer's token may only read (GET); " + request.method +
                          " needs the operator's token");
  }
  if (request.body.size() > api::kMaxBodyBytes) {
    return Error(413, "the body is larger than 64 KiB");
  }
  try {
    return Route(request, now);
  } catch (const fleet::RegistryRefusal& e) {
    return Error(409, e.what());
  } catch (const fleet::RegistryError& e) {
    return Error(503, std::string("the registry is unavailable: ") + e.what());
  }
}

ApiResponse Api::Route(const ApiRequest& r, fleet::TimeMs now) const {
  if (!std::string_view(r.path).starts_with(kRoot)) {
    return Error(404, "no such resource: the API is under /api/v1/");
  }
  const std::vector<std::string> p = Split(std::string_view(r.path).substr(kRoot.size()));
  const auto method = [&](const char* allowed) -> std::optional<ApiResponse> {
    if (r.method == allowed) return std::nullopt;
    return Error(405, r.method + " is not allowed on " + r.path + " (use " + allowed + ")");
  };
  if (p.size() == 1 && p[0] == "devices") {
    if (auto refused = method("GET")) return *refused;
    return Devices(r);
  }
  if (p.size() == 2 && p[0] == "devices") {
    if (auto refused = method("GET")) return *refused;
    return Device(p[1], r);
  }
  if (p.size() == 3 && p[0] == "devices" && p[2] == "tags") {
    if (auto refused = method("PUT")) return *refused;
    return SetTags(p[1], r);
  }
  if (p.size() == 1 && p[0] == "summary") {
    if (auto refused = method("GET")) return *refused;
    return Summary();
  }
  if (p.size() == 2 && p[0] == "versions" && p[1] == "history") {
    if (auto refused = method("GET")) return *refused;
    return VersionHistory(r, now);
  }
  if (p.size() == 1 && p[0] == "images") {
    if (auto refused = method("GET")) return *refused;
    return Images();
  }
  if (p.size() == 1 && p[0] == "campaigns") {
    if (r.method == "GET") return Campaigns();
    if (r.method == "POST") return CreateCampaign(r, now);
    return Error(405, r.method + " is not allowed on " + r.path + " (use GET or POST)");
  }
  if ((p.size() == 2 || p.size() == 3) && p[0] == "campaigns") {
    const auto id = ParseId(p[1]);
    if (!id) return Error(404, "\"" + p[1] + "\" is not a campaign id");
    if (p.size() == 2) {
      if (auto refused = method("GET")) return *refused;
      return Campaign(*id);
    }
    if (p[2] == "pause" || p[2] == "resume" || p[2] == "cancel") {
      if (auto refused = method("POST")) return *refused;
      return Control(*id, p[2], now);
    }
  }
  return Error(404, "no such resource: " + r.path);
}

ApiResponse Api::Devices(const ApiRequest& r) const {
  std::string error;
  fleet::DeviceFilter filter;
  const auto limit = QueryNumber(r, "limit", 1, 100000, 1000, &error);
  const auto offset = QueryNumber(r, "offset", 0, UINT32_MAX, 0, &error);
  if (!limit || !offset) return Error(400, error);
  filter.limit = *limit;
  filter.offset = *offset;
  for (const auto& [key, value] : r.query) {
    if (key == "board") {
      filter.board = value;
    } else if (key == "tag") {
      filter.tag = value;
    } else if (key == "version") {
      filter.version = value;
    } else if (key != "limit" && key != "offset") {
      return Error(400, "unknown query parameter \"" + key +
                            "\" (known: board, tag, version, limit, offset)");
    }
  }
  json list = json::array();
  for (const auto& d : registry_.ListDevices(filter)) list.push_back(api::ToJson(d));
  return Json(200, {{"devices", list}});
}

ApiResponse Api::Device(const std::string& id, const ApiRequest& r) const {
  std::string error;
  const auto history = QueryNumber(r, "history", 0, 10000, 100, &error);
  if (!history) return Error(400, error);
  const auto device = registry_.FindDevice(id);
  if (!device) return Error(404, "no device \"" + id + "\"");
  json j = api::ToJson(*device);
  json events = json::array();
  for (const auto& e : registry_.History(id, *history)) events.push_back(api::ToJson(e));
  j["history"] = events;
  return Json(200, j);
}

ApiResponse Api::SetTags(const std::string& id, const ApiRequest& r) const {
  auto parsed = api::ParseTagsRequest(r.body);
  if (auto* why = std::get_if<std::string>(&parsed)) return Error(400, *why);
  if (!registry_.FindDevice(id)) return Error(404, "no device \"" + id + "\"");
  registry_.SetTags(id, std::get<std::vector<std::string>>(parsed));
  return Json(200, api::ToJson(*registry_.FindDevice(id)));
}

ApiResponse Api::Images() const {
  json list = json::array();
  for (const auto& i : registry_.ListImages()) list.push_back(api::ToJson(i));
  return Json(200, {{"images", list}});
}

ApiResponse Api::Campaigns() const {
  json list = json::array();
  for (const auto& c : registry_.ListCampaigns()) {
    json j = api::ToJson(c);
    api::AddProgress(j, registry_.CampaignProgress(c.id));
    list.push_back(std::move(j));
  }
  return Json(200, {{"campaigns", list}});
}

ApiResponse Api::Summary() const { return Json(200, api::ToJson(registry_.Counts())); }

ApiResponse Api::VersionHistory(const ApiRequest& r, fleet::TimeMs now) const {
  for (const auto& [key, value] : r.query) {
    if (key != "window" && key != "step") {
      return Error(400, "unknown query parameter \"" + key + "\" (known: window, step)");
    }
  }
  std::string error;
  const auto window = QueryNumber(r, "window", 60, kMaxHistoryWindowS, 86400, &error);
  if (!window) return Error(400, error);
  // By default about 100 steps, a whole number of seconds each.
  const uint32_t fallback_step = (*window + kDefaultHistorySteps - 1) / kDefaultHistorySteps;
  const auto step = QueryNumber(r, "step", 1, *window, fallback_step, &error);
  if (!step) return Error(400, error);
  if (*window / *step > kMaxHistorySteps) {
    return Error(400, "?step= must be at least window / " + std::to_string(kMaxHistorySteps) +
                          " (" +
                          std::to_string((*window + kMaxHistorySteps - 1) / kMaxHistorySteps) +
                          " s for a window of " + std::to_string(*window) + " s)");
  }
  // Moments on a grid of `step` (so a poll a second later asks for the
  // same ones and the chart stands still), and now.
  const fleet::TimeMs step_ms = fleet::TimeMs{*step} * 1000;
  const fleet::TimeMs since = now - fleet::TimeMs{*window} * 1000;
  std::vector<fleet::TimeMs> times;
  for (fleet::TimeMs t = (since / step_ms + 1) * step_ms; t < now; t += step_ms) times.push_back(t);
  times.push_back(now);
  json j = api::ToJson(registry_.VersionsOver(times));
  j["window"] = *window;
  j["step"] = *step;
  return Json(200, j);
}

ApiResponse Api::Campaign(int64_t id) const {
  const auto campaign = registry_.FindCampaign(id);
  if (!campaign) return Error(404, "no campaign " + std::to_string(id));
  json j = api::ToJson(*campaign);
  api::AddProgress(j, registry_.CampaignProgress(id));
  json log = json::array();
  for (const auto& entry : registry_.CampaignLog(id)) log.push_back(api::ToJson(entry));
  j["log"] = log;
  return Json(200, j);
}

ApiResponse Api::CreateCampaign(const ApiRequest& r, fleet::TimeMs now) const {
  auto parsed = api::ParseCampaignRequest(r.body);
  if (auto* why = std::get_if<std::string>(&parsed)) return Error(400, *why);
  const api::CampaignRequest& request = std::get<api::CampaignRequest>(parsed);
  fleet::NewCampaign c;
  c.name = request.name;
  c.target = request.target;
  c.rules = request.rules;
  c.time = now;
  if (request.image_id) {
    if (!registry_.FindImage(*request.image_id)) {
      return Error(400, "no image " + std::to_string(*request.image_id) +
                            " (GET /api/v1/images lists them)");
    }
    c.image = *request.image_id;
  } else {
    for (const auto& image : registry_.ListImages()) {
      if (image.board == request.image_board && image.version == request.image_version) {
        c.image = image.id;
      }
    }
    if (c.image == 0) {
      return Error(400, "no image " + request.image_board + " " + request.image_version +
                            " in the catalog (GET /api/v1/images lists them)");
    }
  }
  if (const std::string why = fleet::CheckRules(c.rules); !why.empty()) return Error(400, why);
  int64_t id = 0;
  try {
    id = registry_.CreateCampaign(c);
  } catch (const fleet::RegistryRefusal& e) {
    return Error(400, e.what());  // a target without devices, an unknown device...
  }
  if (changed_) changed_();
  auto response = Campaign(id);
  response.status = 201;
  return response;
}

ApiResponse Api::Control(int64_t id, const std::string& command, fleet::TimeMs now) const {
  if (!registry_.FindCampaign(id)) return Error(404, "no campaign " + std::to_string(id));
  using Command = fleet::Registry::Command;
  const Command c = command == "pause"    ? Command::kPause
                    : command == "resume" ? Command::kResume
                                          : Command::kCancel;
  const fleet::Campaign result = registry_.Control(id, c, "api", now);
  if (c == Command::kResume && changed_) changed_();
  return Json(200, api::ToJson(result));
}

}  // namespace mqota::server
