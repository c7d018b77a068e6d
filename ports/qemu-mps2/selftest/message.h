// Failure sentences longer than a condition's text, e.g.
// "boot_checks.cpp:301: swap == TEST, got: NONE": what was expected, then what
// the code under test returned, named in words (Describe) or numbers.
//
// Built in one static buffer, not on the heap and not on the 8 KiB stack: the
// runner (main.cpp) prints a check's sentence before the next check runs, so
// one buffer serves every check. Text past the buffer is cut, never overrun.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "mqota/image/version.h"

namespace mqota::selftest {

class Message {
 public:
  // Starts the sentence again with `where` (usually MQOTA_SELFTEST_WHERE "...").
  static Message& Begin(const char* where) {
    static Message message;
    message.used_ = 0;
    return message.Add(where);
  }
  Message& Add(const char* part) {
    for (; *part != '\0' && used_ + 1 < text_.size(); ++part) text_[used_++] = *part;
    return *this;
  }
  // `value` in decimal.
  Message& Dec(uint32_t value) {
    std::array<char, 11> digits{};  // a uint32_t in decimal, and a NUL
    size_t first = digits.size() - 1;
    do {
      digits[--first] = static_cast<char>('0' + value % 10);
      value /= 10;
    } while (value != 0);
    return Add(&digits[first]);
  }
  // `v` as FormatVersion writes it, e.g. "1.2.3+4".
  Message& Version(const image::ImageVersion& v) {
    std::array<char, image::kVersionTextBytes> text{};
    image::FormatVersion(v, text);
    return Add(text.data());
  }
  const char* c_str() {
    text_[used_] = '\0';
    return text_.data();
  }

 private:
  std::array<char, 320> text_{};
  size_t used_ = 0;
};

}  // namespace mqota::selftest
