#include "mqota/agent/json.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "mqota/agent/protocol.h"

namespace mqota::agent {
namespace {

struct Collect final : JsonMemberVisitor {
  void OnMember(const JsonMember& m) override {
    members.emplace_back(std::string(m.key), std::string(m.value));
    types.push_back(m.type);
  }
  std::vector<std::pair<std::string, std::string>> members;
  std::vector<JsonType> types;
};

Result<void, JsonError> Read(std::string_view text, Collect& out, size_t scratch_bytes = 512) {
  std::vector<char> scratch(scratch_bytes);
  return ReadJsonObject(text, scratch, out);
}

TEST(JsonReader, ReadsTheJobDocumentPublisherPySends) {
  const std::string job =
      R"({"Message": "Update Available", "Manufacturer": "Express Widgits Corporation", )"
      R"("ManufacturerId": "EWCO", "Product": "Easy Widgit", "SerialNumber": "ABC213450001", )"
      R"("Board": "CY8CPROTO_062_4343W", "Version": "1.6.0", "Connection": "MQTT", "Broker": "", )"
      R"("Port": "1883", "UniqueTopicName": "anycloud/CY8CPROTO_062_4343W/subscriber/image610022697"})";
  Collect c;
  ASSERT_TRUE(Read(job, c).ok());
  ASSERT_EQ(c.members.size(), 11u);
  EXPECT_EQ(c.members[0], (std::pair<std::string, std::string>{"Message", "Update Available"}));
  EXPECT_EQ(c.members[6], (std::pair<std::string, std::string>{"Version", "1.6.0"}));
  EXPECT_EQ(c.members[8], (std::pair<std::string, std::string>{"Broker", ""}));
  EXPECT_TRUE(KeyEquals(c.members[2].first, key::kManufacturerId));  // "Id" vs "ID"
  EXPECT_FALSE(KeyEquals(c.members[3].first, key::kProductId));      // "Product" is another key
}

TEST(JsonReader, KeepsValidUtf8AsItIs) {
  Collect c;
  ASSERT_TRUE(Read("{\"k\": \"gr\xc3\xbc\xc3\x9f \xe2\x82\xac \xf0\x9f\x98\x80\"}", c).ok());
  EXPECT_EQ(c.members[0].second, "gr\xc3\xbc\xc3\x9f \xe2\x82\xac \xf0\x9f\x98\x80");
}

TEST(JsonReader, UnescapesStringsIncludingSurrogatePairs) {
  Collect c;
  ASSERT_TRUE(Read(R"({"k\"ey": "a\"b\\c\/d\n\u00e9\ud83d\ude00"})", c).ok());
  EXPECT_EQ(c.members[0].first, "k\"ey");
  EXPECT_EQ(c.members[0].second, "a\"b\\c/d\n\xc3\xa9\xf0\x9f\x98\x80");
}

TEST(JsonReader, ToleratesAnyValueTypeForUnknownKeys) {
  Collect c;
  ASSERT_TRUE(Read(R"({"n": -1.5e3, "t": true, "f": false, "z": null,
                       "o": {"a": [1, {"b": "x"}], "c": {}}, "arr": [], "s": "v"})",
                   c)
                  .ok());
  ASSERT_EQ(c.types.size(), 7u);
  EXPECT_EQ(c.types[0], JsonType::kNumber);
  EXPECT_EQ(c.members[0].second, "-1.5e3");
  EXPECT_EQ(c.types[4], JsonType::kObject);
  EXPECT_EQ(c.members[4].second, R"({"a": [1, {"b": "x"}], "c": {}})");
  EXPECT_EQ(c.members[6], (std::pair<std::string, std::string>{"s", "v"}));
}

TEST(JsonReader, RejectsInvalidJsonWithTheRightError) {
  const std::pair<const char*, JsonErrc> cases[] = {
      {"", JsonErrc::kNotAnObject},
      {"[]", JsonErrc::kNotAnObject},
      {"{", JsonErrc::kUnexpectedEnd},
      {R"({"a")", JsonErrc::kUnexpectedEnd},
      {R"({"a": "b)", JsonErrc::kUnexpectedEnd},
      {R"({"a": "b",})", JsonErrc::kBadSyntax},
      {R"({"a" "b"})", JsonErrc::kBadSyntax},
      {R"({a: "b"})", JsonErrc::kBadSyntax},
      {R"({"a": 01})", JsonErrc::kBadSyntax},
      {R"({"a": tru})", JsonErrc::kBadSyntax},
      {"{\"a\": \"\x01\"}", JsonErrc::kBadString},
      {R"({"a": "\x"})", JsonErrc::kBadString},
      {R"({"a": "\udc00"})", JsonErrc::kBadString},
      {R"({"a": "\ud800x"})", JsonErrc::kBadString},
      {R"({"a": "b"} x)", JsonErrc::kTrailingData},
      // Invalid UTF-8: a stray lead byte, an overlong '/', an encoded surrogate.
      {"{\"a\": \"\xf4"
       "xyz\"}",
       JsonErrc::kBadString},
      {"{\"a\": \"\xc0\xaf\"}", JsonErrc::kBadString},
      {"{\"a\": \"\xed\xa0\x80\"}", JsonErrc::kBadString},
      {R"({"a": [[[[[[[[[[1]]]]]]]]]]})", JsonErrc::kTooDeep},
  };
  for (const auto& [text, code] : cases) {
    Collect c;
    auto r = Read(text, c);
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_EQ(r.error().code, code) << text << ": " << Describe(r.error().code);
  }
}

TEST(JsonReader, ValuesLongerThanTheScratchAreAnErrorNotATruncation) {
  Collect c;
  const std::string doc = R"({"Broker": ")" + std::string(100, 'x') + R"("})";
  EXPECT_TRUE(Read(doc, c, 200).ok());
  auto r = Read(doc, c, 64);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, JsonErrc::kTooLong);
}

TEST(JsonWriter, WritesWhatTheReaderAndNlohmannReadBack) {
  std::array<char, 256> buffer{};
  JsonObjectWriter w(buffer);
  w.Add(key::kMessage, message::kUpdateAvailability)
      .Add(key::kVersion, "1.0.0")
      .Add("Quote\"Back\\slash", "tab\there\x01")
      .Add(key::kOffset, uint64_t{4096});
  auto text = w.Finish();
  ASSERT_TRUE(text.ok());
  EXPECT_TRUE(text->starts_with(R"({"Message": "Update Availability", "Version": "1.0.0", )"))
      << *text;
  const auto parsed = nlohmann::json::parse(*text);
  EXPECT_EQ(parsed["Quote\"Back\\slash"], "tab\there\x01");
  EXPECT_EQ(parsed["Offset"], "4096");  // every value a string, as the protocol wants
  Collect c;
  ASSERT_TRUE(Read(*text, c).ok());
  EXPECT_EQ(c.members[2].second, "tab\there\x01");
}

TEST(JsonWriter, ReportsOverflowInsteadOfCutting) {
  std::array<char, 16> buffer{};
  JsonObjectWriter w(buffer);
  w.Add("Message", "Update Availability");
  auto text = w.Finish();
  ASSERT_FALSE(text.ok());
  EXPECT_EQ(text.error(), JsonErrc::kTooLong);
}

}  // namespace
}  // namespace mqota::agent
