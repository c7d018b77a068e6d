// Where a demo keeps its files: a directory the user names (which must be
// new or empty: a demo never mixes its files with others'), or a fresh
// temporary one that is removed at the end.
#pragma once

#include <filesystem>
#include <string>

namespace mqota::cli::demo {

struct WorkDir {
  std::filesystem::path path;
  bool remove_at_end = false;
};

// `requested` empty: a new directory /tmp/<prefix>-XXXXXX. Throws
// host::CommandError (exit 1) when it cannot be made or is not empty.
WorkDir MakeWorkDir(const std::filesystem::path& requested, const std::string& prefix);

}  // namespace mqota::cli::demo
