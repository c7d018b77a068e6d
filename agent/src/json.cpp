#include "mqota/agent/json.h"

#include "mqota/base/decimal.h"

namespace mqota::agent {
namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

class Reader {
 public:
  Reader(std::string_view text, std::span<char> scratch) : text_(text), scratch_(scratch) {}

  Result<void, JsonError> ReadObject(JsonMemberVisitor& visitor) {
    SkipSpace();
    if (!Consume('{')) return Error(JsonErrc::kNotAnObject);
    SkipSpace();
    if (!Consume('}')) {
      while (true) {
        SkipSpace();
        if (Peek() != '"') return Error(AtEnd() ? JsonErrc::kUnexpectedEnd : JsonErrc::kBadSyntax);
        // The key goes at the start of scratch, the string value after it.
        used_ = 0;
        MQOTA_TRY_ASSIGN(const std::string_view key, ReadString());
        SkipSpace();
        if (!Consume(':')) return Error(AtEnd() ? JsonErrc::kUnexpectedEnd : JsonErrc::kBadSyntax);
        SkipSpace();
        JsonMember member{key, JsonType::kNull, {}};
        MQOTA_TRY(ReadValue(member, 1));
        visitor.OnMember(member);
        SkipSpace();
        if (Consume(',')) continue;
        if (Consume('}')) break;
        return Error(AtEnd() ? JsonErrc::kUnexpectedEnd : JsonErrc::kBadSyntax);
      }
    }
    SkipSpace();
    if (!AtEnd()) return Error(JsonErrc::kTrailingData);
    return {};
  }

 private:
  bool AtEnd() const { return pos_ >= text_.size(); }
  char Peek() const { return AtEnd() ? '\0' : text_[pos_]; }
  bool Consume(char c) {
    if (Peek() != c || AtEnd()) return false;
    ++pos_;
    return true;
  }
  void SkipSpace() {
    while (!AtEnd() && IsSpace(text_[pos_])) ++pos_;
  }
  JsonError Error(JsonErrc code) const { return {code, static_cast<uint32_t>(pos_)}; }

  Result<void, JsonError> ReadValue(JsonMember& member, int depth) {
    const size_t start = pos_;
    const char c = Peek();
    if (c == '"') {
      member.type = JsonType::kString;
      MQOTA_TRY_ASSIGN(member.value, ReadString());
      return {};
    }
    if (c == '{' || c == '[') {
      member.type = c == '{' ? JsonType::kObject : JsonType::kArray;
      MQOTA_TRY(SkipContainer(depth));
    } else if (c == '-' || IsDigit(c)) {
      member.type = JsonType::kNumber;
      MQOTA_TRY(SkipNumber());
    } else if (ConsumeWord("true")) {
      member.type = JsonType::kTrue;
    } else if (ConsumeWord("false")) {
      member.type = JsonType::kFalse;
    } else if (ConsumeWord("null")) {
      member.type = JsonType::kNull;
    } else {
      return Error(AtEnd() ? JsonErrc::kUnexpectedEnd : JsonErrc::kBadSyntax);
    }
    member.value = Slice(start, pos_ - start);
    return {};
  }

  // string_view::substr would do, but it may throw: device code slices by hand
  // after checking the bounds.
  std::string_view Slice(size_t start, size_t length) const {
    return std::string_view(text_.data() + start, length);
  }

  bool ConsumeWord(std::string_view word) {
    if (text_.size() - pos_ < word.size() || Slice(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }

  Result<void, JsonError> SkipNumber() {
    Consume('-');
    if (Consume('0')) {
      // no leading zeros
    } else if (IsDigit(Peek())) {
      while (IsDigit(Peek())) ++pos_;
    } else {
      return Error(AtEnd() ? JsonErrc::kUnexpectedEnd : JsonErrc::kBadSyntax);
    }
    if (Consume('.')) {
      if (!IsDigit(Peek())) return Error(JsonErrc::kBadSyntax);
      while (IsDigit(Peek())) ++pos_;
    }
    if (Peek() == 'e' || Peek() == 'E') {
      ++pos_;
      if (Peek() == '+' || Peek() == '-') ++pos_;
      if (!IsDigit(Peek())) return Error(JsonErrc::kBadSyntax);
      while (IsDigit(Peek())) ++pos_;
    }
    return {};
  }

  // Skips an object or array (values not kept: only top-level members are
  // reported). Strings inside are still fully checked.
  Result<void, JsonError> SkipContainer(int depth) {
    if (depth > kMaxJsonDepth) return Error(JsonErrc::kTooDeep);
    const bool object = Consume('{');
    if (!object) Consume('[');
    const char close = object ? '}' : ']';
    SkipSpace();
    if (Consume(close)) return {};
    while (true) {
      SkipSpace();
      const size_t saved = used_;
      if (object) {
        if (Peek() != '"') return Error(AtEnd() ? JsonErrc::kUnexpectedEnd : JsonErrc::kBadSyntax);
        MQOTA_TRY(ReadString());
        SkipSpace();
        if (!Consume(':')) return Error(AtEnd() ? JsonErrc::kUnexpectedEnd : JsonErrc::kBadSyntax);
        SkipSpace();
      }
      JsonMember ignored{};
      MQOTA_TRY(ReadValue(ignored, depth + 1));
      used_ = saved;  // nested strings need no room once checked
      SkipSpace();
      if (Consume(',')) continue;
      if (Consume(close)) return {};
      return Error(AtEnd() ? JsonErrc::kUnexpectedEnd : JsonErrc::kBadSyntax);
    }
  }

  // Reads a string at pos_ (on its opening quote), unescaped into scratch.
  Result<std::string_view, JsonError> ReadString() {
    ++pos_;  // opening quote
    const size_t begin = used_;
    while (true) {
      if (AtEnd()) return Error(JsonErrc::kUnexpectedEnd);
      const char c = text_[pos_++];
      if (c == '"') break;
      if (static_cast<unsigned char>(c) < 0x20) return Error(JsonErrc::kBadString);
      if (static_cast<unsigned char>(c) >= 0x80) {
        --pos_;
        MQOTA_TRY(CopyUtf8Sequence());
        continue;
      }
      if (c != '\\') {
        MQOTA_TRY(Put(c));
        continue;
      }
      if (AtEnd()) return Error(JsonErrc::kUnexpectedEnd);
      const char e = text_[pos_++];
      switch (e) {
        case '"':
        case '\\':
        case '/': MQOTA_TRY(Put(e)); break;
        case 'b': MQOTA_TRY(Put('\b')); break;
        case 'f': MQOTA_TRY(Put('\f')); break;
        case 'n': MQOTA_TRY(Put('\n')); break;
        case 'r': MQOTA_TRY(Put('\r')); break;
        case 't': MQOTA_TRY(Put('\t')); break;
        case 'u': MQOTA_TRY(ReadUnicodeEscape()); break;
        default: return Error(JsonErrc::kBadString);
      }
    }
    return std::string_view(scratch_.data() + begin, used_ - begin);
  }

  // JSON text is UTF-8 (RFC 8259): one well-formed sequence at pos_, copied
  // as it is. Overlong forms, surrogates and code points above U+10FFFF are
  // refused, as a strict parser would.
  Result<void, JsonError> CopyUtf8Sequence() {
    const auto lead = static_cast<unsigned char>(text_[pos_]);
    size_t length = 0;
    uint32_t code = 0;
    if (lead >= 0xc2 && lead <= 0xdf) {
      length = 2;
      code = lead & 0x1f;
    } else if (lead >= 0xe0 && lead <= 0xef) {
      length = 3;
      code = lead & 0x0f;
    } else if (lead >= 0xf0 && lead <= 0xf4) {
      length = 4;
      code = lead & 0x07;
    } else {
      return Error(JsonErrc::kBadString);
    }
    if (text_.size() - pos_ < length) return Error(JsonErrc::kUnexpectedEnd);
    for (size_t i = 1; i < length; ++i) {
      const auto next = static_cast<unsigned char>(text_[pos_ + i]);
      if ((next & 0xc0) != 0x80) return Error(JsonErrc::kBadString);
      code = code << 6 | (next & 0x3f);
    }
    const uint32_t minimum = length == 2 ? 0x80 : length == 3 ? 0x800 : 0x10000;
    if (code < minimum || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) {
      return Error(JsonErrc::kBadString);
    }
    for (size_t i = 0; i < length; ++i) MQOTA_TRY(Put(text_[pos_ + i]));
    pos_ += length;
    return {};
  }

  Result<uint32_t, JsonError> ReadHex4() {
    if (text_.size() - pos_ < 4) return Error(JsonErrc::kUnexpectedEnd);
    uint32_t value = 0;
    for (int i = 0; i < 4; ++i) {
      const int digit = HexValue(text_[pos_++]);
      if (digit < 0) return Error(JsonErrc::kBadString);
      value = value << 4 | static_cast<uint32_t>(digit);
    }
    return value;
  }

  // \uXXXX, with surrogate pairs, written as UTF-8. Lone surrogates are invalid.
  Result<void, JsonError> ReadUnicodeEscape() {
    MQOTA_TRY_ASSIGN(uint32_t code, ReadHex4());
    if (code >= 0xdc00 && code <= 0xdfff) return Error(JsonErrc::kBadString);
    if (code >= 0xd800 && code <= 0xdbff) {
      if (!ConsumeWord("\\u")) return Error(JsonErrc::kBadString);
      MQOTA_TRY_ASSIGN(const uint32_t low, ReadHex4());
      if (low < 0xdc00 || low > 0xdfff) return Error(JsonErrc::kBadString);
      code = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00);
    }
    if (code < 0x80) return Put(static_cast<char>(code));
    if (code < 0x800) {
      MQOTA_TRY(Put(static_cast<char>(0xc0 | (code >> 6))));
    } else if (code < 0x10000) {
      MQOTA_TRY(Put(static_cast<char>(0xe0 | (code >> 12))));
      MQOTA_TRY(Put(static_cast<char>(0x80 | ((code >> 6) & 0x3f))));
    } else {
      MQOTA_TRY(Put(static_cast<char>(0xf0 | (code >> 18))));
      MQOTA_TRY(Put(static_cast<char>(0x80 | ((code >> 12) & 0x3f))));
      MQOTA_TRY(Put(static_cast<char>(0x80 | ((code >> 6) & 0x3f))));
    }
    return Put(static_cast<char>(0x80 | (code & 0x3f)));
  }

  Result<void, JsonError> Put(char c) {
    if (used_ >= scratch_.size()) return Error(JsonErrc::kTooLong);
    scratch_[used_++] = c;
    return {};
  }

  std::string_view text_;
  std::span<char> scratch_;
  size_t pos_ = 0;
  size_t used_ = 0;
};

}  // namespace

const char* Describe(JsonErrc code) {
  switch (code) {
    case JsonErrc::kNotAnObject: return "the document is not a JSON object";
    case JsonErrc::kUnexpectedEnd: return "the JSON text ends too early";
    case JsonErrc::kBadSyntax: return "invalid JSON syntax";
    case JsonErrc::kBadString: return "invalid JSON string";
    case JsonErrc::kTooDeep: return "JSON nested too deeply";
    case JsonErrc::kTooLong: return "a JSON key or value is too long";
    case JsonErrc::kTrailingData: return "data after the JSON object";
  }
  return "unknown JSON error";
}

Result<void, JsonError> ReadJsonObject(std::string_view text, std::span<char> scratch,
                                       JsonMemberVisitor& visitor) {
  return Reader(text, scratch).ReadObject(visitor);
}

bool KeyEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

JsonObjectWriter::JsonObjectWriter(std::span<char> buffer) : buffer_(buffer) { Put('{'); }

void JsonObjectWriter::Put(char c) {
  if (size_ >= buffer_.size()) {
    overflow_ = true;
    return;
  }
  buffer_[size_++] = c;
}

void JsonObjectWriter::PutString(std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  Put('"');
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      Put('\\');
      Put(c);
    } else if (u < 0x20) {
      Put('\\');
      Put('u');
      Put('0');
      Put('0');
      Put(kHex[u >> 4]);
      Put(kHex[u & 0xf]);
    } else {
      Put(c);
    }
  }
  Put('"');
}

JsonObjectWriter& JsonObjectWriter::Add(std::string_view key, std::string_view value) {
  if (!first_) {
    Put(',');
    Put(' ');
  }
  first_ = false;
  PutString(key);
  Put(':');
  Put(' ');
  PutString(value);
  return *this;
}

JsonObjectWriter& JsonObjectWriter::Add(std::string_view key, uint64_t value) {
  char text[kMaxDecimalDigits];
  return Add(key, std::string_view(text, FormatDecimal(value, text)));
}

Result<std::string_view, JsonErrc> JsonObjectWriter::Finish() {
  Put('}');
  if (overflow_) return JsonErrc::kTooLong;
  return std::string_view(buffer_.data(), size_);
}

}  // namespace mqota::agent
