// Bytes as lower-case hex digits, as the protocol, the CLI and the logs write
// digests.
#pragma once

#include <cstdint>
#include <span>
#include <string>

namespace mqota::host {

std::string HexString(std::span<const uint8_t> bytes);

}  // namespace mqota::host
