// CRC-32C (Castagnoli), for records that must tell a torn or stale copy from
// a good one: the boot record, the download journal, and the protocol's chunk
// checksums. Bitwise: records of a few dozen bytes do not justify a 1 KiB
// table in a bootloader.
#pragma once

#include <cstdint>
#include <span>

namespace mqota {

// Continues `crc` (0 to start) over `bytes`.
constexpr uint32_t Crc32c(std::span<const uint8_t> bytes, uint32_t crc = 0) {
  crc = ~crc;
  for (uint8_t b : bytes) {
    crc ^= b;
    for (int i = 0; i < 8; ++i) crc = (crc >> 1) ^ (0x82f63b78u & (0u - (crc & 1u)));
  }
  return ~crc;
}

}  // namespace mqota
