#include "demo/work_dir.h"

#include <stdlib.h>

#include <vector>

#include "mqota/host/command_error.h"

namespace mqota::cli::demo {

namespace fs = std::filesystem;

WorkDir MakeWorkDir(const fs::path& requested, const std::string& prefix) {
  if (requested.empty()) {
    std::string pattern = "/tmp/" + prefix + "-XXXXXX";
    std::vector<char> buffer(pattern.begin(), pattern.end());
    buffer.push_back('\0');
    if (!mkdtemp(buffer.data())) throw host::CommandError(1, "cannot make a temporary directory");
    return {fs::path(buffer.data()), true};
  }
  const fs::path path = fs::absolute(requested);
  if (fs::exists(path) && !fs::is_empty(path)) {
    throw host::CommandError(1, path.string() + " is not empty; the demo needs a fresh directory");
  }
  fs::create_directories(path);
  return {path, false};
}

}  // namespace mqota::cli::demo
