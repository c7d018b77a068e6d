// Fuzz target: the device's JSON object reader on arbitrary text.
//
// Property: ReadJsonObject returns for any input without reading out of
// bounds or recursing without limit; every key and string value it reports
// lies inside the scratch buffer, every raw value inside the input; and a
// document it accepts is also valid JSON for nlohmann (no laxer than a real
// parser; nlohmann may still refuse a number beyond double's range, which
// JSON itself allows).
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string_view>

#include "mqota/agent/json.h"

namespace {

using namespace mqota::agent;

char g_scratch[512];

void Check(bool property) {
  if (!property) __builtin_trap();
}

bool Inside(std::string_view part, const char* begin, size_t size) {
  return part.empty() || (part.data() >= begin && part.data() + part.size() <= begin + size);
}

struct Checker final : JsonMemberVisitor {
  std::string_view text;
  void OnMember(const JsonMember& m) override {
    Check(Inside(m.key, g_scratch, sizeof g_scratch));
    if (m.type == JsonType::kString) {
      Check(Inside(m.value, g_scratch, sizeof g_scratch));
    } else {
      Check(Inside(m.value, text.data(), text.size()));
    }
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  Checker checker;
  checker.text = text;
  const bool accepted = ReadJsonObject(text, g_scratch, checker).ok();
  if (accepted) {
    try {
      (void)nlohmann::json::parse(text);
    } catch (const nlohmann::json::out_of_range&) {
      // A number too large for a double: valid JSON, beyond nlohmann's range.
    } catch (const nlohmann::json::parse_error&) {
      Check(false);
    }
  }
  return 0;
}
