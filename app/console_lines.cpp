#include "console_lines.h"

#include <array>

#include "mqota/delta/error.h"
#include "mqota/image/error.h"

namespace mqota::app {

std::optional<std::string> SessionEndLine(const agent::AgentStatus& s, const std::string& board) {
  std::array<char, agent::kProtocolVersionTextBytes> text{};
  const std::string version(agent::FormatProtocolVersion(s.offered, text));
  const std::string why = agent::Describe(s.last_end);
  switch (s.last_end) {
    case agent::SessionEnd::kNone:
    case agent::SessionEnd::kNoJob:
    case agent::SessionEnd::kNoUpdate:
    case agent::SessionEnd::kInstalled: return std::nullopt;
    case agent::SessionEnd::kWrongBoard:
      return "ota: refused " + version + ": " + why + " (this is " + board + ")";
    case agent::SessionEnd::kVerifyFailed:
      return "ota: refused " + version + ": " + why + " (" + image::Describe(s.verify_error) +
             "); erased";
    case agent::SessionEnd::kBadJob:  // nothing in it was understood, its version neither
      return "ota: refused a job document: " + why;
    case agent::SessionEnd::kBlocklisted:
    case agent::SessionEnd::kRedirect:
    case agent::SessionEnd::kTooLarge: return "ota: refused " + version + ": " + why;
    case agent::SessionEnd::kStalled:
      return "ota: download of " + version + " stopped: " + why + "; it resumes at the next check";
    case agent::SessionEnd::kFlashError: return "ota: download of " + version + " failed: " + why;
    case agent::SessionEnd::kPatchUnusable:
      return "ota: the patch to " + version + " could not be used (" +
             delta::Describe(s.patch_error.delta) + "); the whole image comes next";
  }
  return "ota: session for " + version + " ended: " + why;
}

}  // namespace mqota::app
