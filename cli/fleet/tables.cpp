#include "fleet/tables.h"

#include <algorithm>
#include <sstream>

namespace mqota::cli::fleet {
namespace {

using nlohmann::json;

// A member as text: strings as they are, numbers and booleans as JSON, a
// missing or null member as "-".
std::string Text(const json& object, const char* key) {
  if (!object.is_object() || !object.contains(key) || object[key].is_null()) return "-";
  const json& v = object[key];
  if (v.is_string()) return v.get<std::string>().empty() ? "-" : v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "yes" : "no";
  if (v.is_array()) {
    std::string joined;
    for (const json& item : v) {
      joined +=
          (joined.empty() ? "" : ",") + (item.is_string() ? item.get<std::string>() : item.dump());
    }
    return joined.empty() ? "-" : joined;
  }
  return v.dump();
}

// "2026-12-06T03:10:00.123Z" -> "2026-12-06 03:10:00".
std::string Time(const json& object, const char* key) {
  std::string t = Text(object, key);
  if (t.size() >= 19 && t[10] == 'T') t = t.substr(0, 10) + " " + t.substr(11, 8);
  return t;
}

const json& Items(const json& answer, const char* key) {
  static const json kEmpty = json::array();
  return answer.is_object() && answer.contains(key) && answer[key].is_array() ? answer[key]
                                                                              : kEmpty;
}

}  // namespace

std::string Table(const std::vector<std::string>& header,
                  const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width(header.size());
  for (size_t i = 0; i < header.size(); ++i) width[i] = header[i].size();
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size() && i < width.size(); ++i) {
      width[i] = std::max(width[i], row[i].size());
    }
  }
  std::ostringstream out;
  const auto line = [&](const std::vector<std::string>& cells) {
    std::string text;
    for (size_t i = 0; i < cells.size(); ++i) {
      text += cells[i];
      if (i + 1 < cells.size()) text += std::string(width[i] - cells[i].size() + 2, ' ');
    }
    out << text << "\n";
  };
  line(header);
  for (const auto& row : rows) line(row);
  return out.str();
}

std::string DevicesTable(const json& answer) {
  std::vector<std::vector<std::string>> rows;
  for (const json& d : Items(answer, "devices")) {
    rows.push_back({Text(d, "id"), Text(d, "board"), Text(d, "version"), Text(d, "state"),
                    Text(d, "online"), Text(d, "verified"), Time(d, "last_seen"), Text(d, "tags")});
  }
  if (rows.empty()) return "no devices\n";
  return Table({"DEVICE", "BOARD", "VERSION", "STATE", "ONLINE", "VERIFIED", "LAST SEEN", "TAGS"},
               rows);
}

std::string DeviceDetail(const json& d) {
  std::ostringstream out;
  out << Text(d, "id") << ": " << Text(d, "board") << " at " << Text(d, "version") << ", "
      << Text(d, "state") << (d.value("online", false) ? ", online" : ", offline")
      << (d.value("verified", false) ? "" : ", never on its own topic (unverified)") << "\n"
      << "first seen " << Time(d, "first_seen") << ", last seen " << Time(d, "last_seen")
      << ", tags " << Text(d, "tags") << "\n\n";
  std::vector<std::vector<std::string>> rows;
  for (const json& e : Items(d, "history")) {
    std::string what = Text(e, "event");
    if (e.contains("percent")) what += " " + e["percent"].dump() + "%";
    rows.push_back({Time(e, "time"), what, Text(e, "version"), Text(e, "campaign"),
                    e.value("verified", true) ? "" : "unverified", Text(e, "reason")});
  }
  if (rows.empty()) return out.str() + "no events\n";
  return out.str() + Table({"TIME", "EVENT", "VERSION", "CAMPAIGN", "", "REASON"}, rows);
}

std::string ImagesTable(const json& answer) {
  std::vector<std::vector<std::string>> rows;
  for (const json& i : Items(answer, "images")) {
    rows.push_back({Text(i, "id"), Text(i, "board"), Text(i, "version"), Text(i, "size"),
                    Text(i, "sha256").substr(0, 16), Text(i, "path")});
  }
  if (rows.empty()) return "no images\n";
  return Table({"ID", "BOARD", "VERSION", "BYTES", "SHA256", "PATH"}, rows);
}

std::string CampaignsTable(const json& answer) {
  std::vector<std::vector<std::string>> rows;
  for (const json& c : Items(answer, "campaigns")) {
    const json& image = c.contains("image") ? c["image"] : json::object();
    const json& totals = c.contains("totals") ? c["totals"] : json::object();
    rows.push_back({Text(c, "id"), Text(c, "name"),
                    Text(image, "board") + " " + Text(image, "version"), Text(c, "status"),
                    Text(c, "open_waves") + "/" + std::to_string(Items(c, "waves").size()),
                    Text(totals, "confirmed") + "/" + Text(totals, "devices"),
                    Text(totals, "failed"), Time(c, "updated")});
  }
  if (rows.empty()) return "no campaigns\n";
  return Table({"ID", "NAME", "IMAGE", "STATUS", "WAVES", "CONFIRMED", "FAILED", "UPDATED"}, rows);
}

std::string CampaignDetail(const json& c) {
  std::ostringstream out;
  const json& image = c.contains("image") ? c["image"] : json::object();
  const json& rules = c.contains("rules") ? c["rules"] : json::object();
  out << "campaign " << Text(c, "id") << " \"" << Text(c, "name") << "\": " << Text(image, "board")
      << " " << Text(image, "version") << ", " << Text(c, "status");
  if (Text(c, "status_reason") != "-") out << ": " << Text(c, "status_reason");
  out << "\nwaves " << Text(rules, "waves") << ", gate " << Text(rules, "success_percent")
      << "% confirmed, halt above " << Text(rules, "failure_percent") << "% failed, soak "
      << Text(rules, "soak_seconds") << " s\n\n";
  std::vector<std::vector<std::string>> rows;
  for (const json& w : Items(c, "waves")) {
    rows.push_back({Text(w, "wave"), w.value("open", false) ? "open" : "closed", Text(w, "devices"),
                    Text(w, "waiting"), Text(w, "in_progress"), Text(w, "confirmed"),
                    Text(w, "failed")});
  }
  out << Table({"WAVE", "", "DEVICES", "WAITING", "UPDATING", "CONFIRMED", "FAILED"}, rows);
  if (!Items(c, "log").empty()) {
    out << "\n";
    std::vector<std::vector<std::string>> log;
    for (const json& e : Items(c, "log")) {
      log.push_back({Time(e, "time"), Text(e, "action"), Text(e, "reason")});
    }
    out << Table({"TIME", "DECISION", "WHY"}, log);
  }
  return out.str();
}

}  // namespace mqota::cli::fleet
