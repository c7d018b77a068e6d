// CRC-32C (Castagnoli), for records that must tell a torn or stale copy from
// a good one (the boot record, the download journal) and for chunk checksums
// on the wire. Two variants of the one algorithm: bitwise for records of a
// few dozen bytes (no table in a bootloader), table-driven for chunks of
// kilobytes (1 KiB of read-only data, about 8 times faster).
#pragma once

#include <array>
#include <cstdint>
#include <span>

namespace mqota {

namespace crc32c_detail {

inline constexpr uint32_t kPolynomial = 0x82f63b78u;  // reflected

// One bit of the register.
constexpr uint32_t Step(uint32_t crc) { return (crc >> 1) ^ (kPolynomial & (0u - (crc & 1u))); }

constexpr std::array<uint32_t, 256> MakeTable() {
  std::array<uint32_t, 256> table{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t crc = i;
    for (int bit = 0; bit < 8; ++bit) crc = Step(crc);
    table[i] = crc;
  }
  return table;
}

inline constexpr std::array<uint32_t, 256> kTable = MakeTable();

}  // namespace crc32c_detail

// Continues `crc` (0 to start) over `bytes`, bit by bit.
constexpr uint32_t Crc32c(std::span<const uint8_t> bytes, uint32_t crc = 0) {
  crc = ~crc;
  for (uint8_t b : bytes) {
    crc ^= b;
    for (int i = 0; i < 8; ++i) crc = crc32c_detail::Step(crc);
  }
  return ~crc;
}

// The same value as Crc32c, a byte at a time through a table.
constexpr uint32_t Crc32cTableDriven(std::span<const uint8_t> bytes, uint32_t crc = 0) {
  crc = ~crc;
  for (uint8_t b : bytes) crc = (crc >> 8) ^ crc32c_detail::kTable[(crc ^ b) & 0xffu];
  return ~crc;
}

}  // namespace mqota
