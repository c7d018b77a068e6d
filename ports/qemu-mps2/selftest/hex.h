// Byte strings written as hex, turned into arrays at compile time. Lets a
// check quote a digest or key exactly as its source prints it (expected.json's
// *_hex fields, FIPS 180-2's examples), so the two can be compared by eye or
// by grep, instead of re-typing it as a list of 0x.. bytes.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace mqota::selftest {
namespace hex_detail {

// Declared, never defined, not constexpr: a Hex() evaluation that reaches it
// is not a constant expression, so a stray character is a compile error.
void NotALowercaseHexDigit();

consteval uint8_t Nibble(char c) {
  if (c >= '0' && c <= '9') return static_cast<uint8_t>(c - '0');
  if (c >= 'a' && c <= 'f') return static_cast<uint8_t>(c - 'a' + 10);
  NotALowercaseHexDigit();
  return 0;
}

}  // namespace hex_detail

// Hex("0a1b") == std::array<uint8_t, 2>{0x0a, 0x1b}. Consteval: the bytes are
// a constant in .rodata, nothing is parsed on the target.
template <size_t N>
consteval std::array<uint8_t, N / 2> Hex(const char (&text)[N]) {
  static_assert(N % 2 == 1, "two hex digits per byte (N counts the NUL)");
  std::array<uint8_t, N / 2> bytes{};
  for (size_t i = 0; i < bytes.size(); ++i) {
    bytes[i] = static_cast<uint8_t>(hex_detail::Nibble(text[2 * i]) << 4 |
                                    hex_detail::Nibble(text[2 * i + 1]));
  }
  return bytes;
}

}  // namespace mqota::selftest
