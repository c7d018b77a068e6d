#include "mqota/host/numbers.h"

#include <cctype>

#include "mqota/host/command_error.h"

namespace mqota::host {

uint64_t ParseInteger(const std::string& text, const std::string& what, uint64_t max) {
  auto fail = [&](const std::string& why) { return UsageError(what + ": '" + text + "' " + why); };
  std::string digits = text;
  unsigned base = 10;
  if (digits.size() > 2 && digits[0] == '0' &&
      std::isalpha(static_cast<unsigned char>(digits[1]))) {
    const char prefix = static_cast<char>(std::tolower(static_cast<unsigned char>(digits[1])));
    base = prefix == 'x' ? 16 : prefix == 'o' ? 8 : prefix == 'b' ? 2 : 0;
    digits = digits.substr(2);
  }
  if (base == 0 || digits.empty() || (base == 10 && digits.size() > 1 && digits[0] == '0')) {
    throw fail("is not a valid integer; use decimal or a 0x/0o/0b prefix");
  }
  uint64_t value = 0;
  for (char c : digits) {
    const int lower = std::tolower(static_cast<unsigned char>(c));
    const int digit = std::isdigit(lower) ? lower - '0' : (lower >= 'a' ? lower - 'a' + 10 : 99);
    if (digit >= static_cast<int>(base)) {
      throw fail("is not a valid integer; use decimal or a 0x/0o/0b prefix");
    }
    if (value > (max - static_cast<uint64_t>(digit)) / base) throw fail("is too large");
    value = value * base + static_cast<uint64_t>(digit);
  }
  return value;
}

}  // namespace mqota::host
