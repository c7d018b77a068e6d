// Image-layer errors as CLI failures: one line naming the file, the problem
// and where in the file it was found.
#pragma once

#include <cstdio>
#include <string>

#include "mqota/host/command_error.h"
#include "mqota/image/error.h"

namespace mqota::host {

inline CommandError ImageFailure(const std::string& path, image::ImageError error) {
  char where[32];
  std::snprintf(where, sizeof where, " (at offset 0x%x)", error.offset);
  return {kExitVerifyFailed, path + ": " + image::Describe(error.code) + where};
}

}  // namespace mqota::host
