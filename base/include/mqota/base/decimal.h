// Decimal text of an unsigned number, without printf (which device code has
// no business linking) and without locale.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace mqota {

// The most digits a uint64_t needs.
inline constexpr size_t kMaxDecimalDigits = 20;

// Writes the digits of `value` at the start of `out` (which must hold
// kMaxDecimalDigits, or at least the digits of `value`) and returns how many.
constexpr size_t FormatDecimal(uint64_t value, std::span<char> out) {
  char reversed[kMaxDecimalDigits] = {};
  size_t count = 0;
  do {
    reversed[count++] = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value != 0);
  for (size_t i = 0; i < count; ++i) out[i] = reversed[count - 1 - i];
  return count;
}

}  // namespace mqota
