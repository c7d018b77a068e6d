#include "mqota/host/mqtt_names.h"

#include "mqota/host/command_error.h"

namespace mqota::host {
namespace {

// Why `level` is not one safe topic level, or nullptr.
const char* LevelProblem(const std::string& level) {
  if (level.empty()) return "it is empty";
  if (level.size() > kMaxClientIdBytes) return "it is longer than 64 characters";
  for (const char c : level) {
    if (c == '/') return "'/' would split it into several topic levels";
    if (c == '+' || c == '#') return "'+' and '#' are MQTT wildcards";
    if (c == ':') return "':' separates a device id from its board (--device ID:BOARD)";
    // Space, control characters, NUL and anything non-ASCII: these break the
    // ACL file's whitespace-separated lines or are not the same byte string
    // in every tool that prints or parses them.
    if (c <= ' ' || c > '~') return "only printable ASCII without spaces is allowed";
  }
  return nullptr;
}

// Prints a user's text without letting control characters through.
std::string Quoted(const std::string& text) {
  std::string out = "'";
  for (const char c : text) {
    if (c < ' ' || c > '~') {
      out += '?';
    } else {
      out += c;
    }
  }
  return out + "'";
}

}  // namespace

void CheckClientId(const std::string& id, const std::string& what) {
  if (const char* why = LevelProblem(id)) {
    throw UsageError(what + " " + Quoted(id) +
                     " is not usable as an MQTT username and topic level: " + why);
  }
}

void CheckBoardName(const std::string& board) {
  if (const char* why = LevelProblem(board)) {
    throw UsageError("board " + Quoted(board) + " is not usable as an MQTT topic level: " + why);
  }
}

void CheckTopicPrefix(const std::string& prefix) {
  // "$..." topics belong to the broker ($SYS) and never match '#'.
  if (!prefix.empty() && prefix[0] == '$') {
    throw UsageError("topic prefix " + Quoted(prefix) +
                     " is not usable: '$' topics are the broker's");
  }
  size_t start = 0;
  while (true) {
    const size_t slash = prefix.find('/', start);
    const std::string level =
        prefix.substr(start, slash == std::string::npos ? slash : slash - start);
    if (const char* why = LevelProblem(level)) {
      throw UsageError("topic prefix " + Quoted(prefix) +
                       " is not usable: each '/'-separated level must be non-empty, no '+' or '#', "
                       "printable ASCII (" +
                       why + ")");
    }
    if (slash == std::string::npos) return;
    start = slash + 1;
  }
}

}  // namespace mqota::host
