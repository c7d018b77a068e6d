// Number arguments as imgtool reads them (Python's int(text, 0)): decimal, or
// 0x / 0o / 0b prefixed; no leading zeros on decimals; '_' not accepted.
#pragma once

#include <cstdint>
#include <string>

namespace mqota::host {

// Throws UsageError "<what>: '<text>' is not a valid integer ..." on bad input
// or a value above `max`.
uint64_t ParseInteger(const std::string& text, const std::string& what, uint64_t max = UINT32_MAX);

}  // namespace mqota::host
