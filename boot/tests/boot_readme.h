// boot/README.md as text, for tests that print a decision table from the
// code's data and demand that the README shows the same rows.
#pragma once

#include <string>
#include <vector>

#include "mqota/testing/files.h"

namespace mqota::boot::testing {

inline std::string BootReadme() {
  const std::vector<uint8_t> bytes = mqota::testing::ReadFileBytes(MQOTA_BOOT_README);
  return std::string(bytes.begin(), bytes.end());
}

}  // namespace mqota::boot::testing
