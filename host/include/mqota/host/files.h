// File input and output for host commands.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace mqota::host {

// The whole file. Throws UsageError "<path>: <reason>" when it cannot be read.
std::vector<uint8_t> ReadFile(const std::string& path);

// Writes `bytes` to a temporary file beside `path`, syncs it and renames it
// over `path`: readers see the old file or the complete new one, never a
// partial one, and a failure leaves nothing behind. `mode` as for open(2).
// Throws UsageError naming the path on failure.
void WriteFileAtomically(const std::string& path, std::span<const uint8_t> bytes,
                         unsigned mode = 0644);
void WriteFileAtomically(const std::string& path, const std::string& text, unsigned mode = 0644);

}  // namespace mqota::host
