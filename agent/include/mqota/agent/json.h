// JSON for the device: reading the members of one object and writing flat
// objects of string values, in caller-provided buffers, no heap.
//
// The protocol's documents are small flat objects whose values are all
// strings (docs/spec/reference-protocol.md#common-rules); the reader still
// accepts any valid JSON value so that unknown keys and extensions from a
// newer server never break a device, and it rejects anything that is not valid
// JSON rather than guessing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "mqota/base/result.h"

namespace mqota::agent {

enum class JsonErrc : uint8_t {
  kNotAnObject,    // the document is not one JSON object
  kUnexpectedEnd,  // the text ends inside a value
  kBadSyntax,      // a character that cannot appear here
  kBadString,      // a control character, bad escape or invalid \u sequence in a string
  kTooDeep,        // objects/arrays nested deeper than kMaxJsonDepth
  kTooLong,        // a key or string value does not fit the caller's buffer
  kTrailingData,   // something other than whitespace after the object
};

const char* Describe(JsonErrc code);

struct JsonError {
  JsonErrc code;
  uint32_t offset;  // where in the text
};

inline constexpr int kMaxJsonDepth = 8;

enum class JsonType : uint8_t { kString, kNumber, kTrue, kFalse, kNull, kObject, kArray };

struct JsonMember {
  std::string_view key;  // unescaped
  JsonType type;
  // kString: the unescaped value (UTF-8). Others: the raw JSON text.
  std::string_view value;
};

class JsonMemberVisitor {
 public:
  virtual void OnMember(const JsonMember& member) = 0;

 protected:
  ~JsonMemberVisitor() = default;
};

// Reads one JSON object and calls `visitor` for each of its members, in
// document order (duplicate keys are reported each time). Keys and string
// values are unescaped into `scratch`, which must hold the longest key plus
// the longest string value; the views passed to the visitor are valid during
// the call only. Errors leave some members visited: act on the document only
// when the whole read succeeded.
Result<void, JsonError> ReadJsonObject(std::string_view text, std::span<char> scratch,
                                       JsonMemberVisitor& visitor);

// ASCII case-insensitive equality, as the reference device matches keys.
bool KeyEquals(std::string_view a, std::string_view b);

// Builds {"k": "v", ...} into a fixed buffer, escaping as JSON requires.
// After an overflow every call is ignored and Finish() reports it.
class JsonObjectWriter {
 public:
  explicit JsonObjectWriter(std::span<char> buffer);
  JsonObjectWriter& Add(std::string_view key, std::string_view value);
  JsonObjectWriter& Add(std::string_view key, uint64_t value);  // as a string, like every value
  // The document, or nullopt-like failure: ok() false when it did not fit.
  Result<std::string_view, JsonErrc> Finish();

 private:
  void Put(char c);
  void PutString(std::string_view s);
  std::span<char> buffer_;
  size_t size_ = 0;
  bool first_ = true;
  bool overflow_ = false;
};

}  // namespace mqota::agent
