#include "certs/c_strings.h"

#include "mqota/host/command_error.h"
#include "mqota/host/files.h"

namespace mqota::cli {
namespace {

bool EndsWith(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() &&
         text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::vector<std::string> Lines(const std::vector<uint8_t>& bytes) {
  std::vector<std::string> lines;
  std::string line;
  for (const uint8_t b : bytes) {
    if (b == '\n') {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      lines.push_back(std::move(line));
      line.clear();
    } else {
      line += static_cast<char>(b);
    }
  }
  if (!line.empty()) lines.push_back(std::move(line));
  return lines;
}

std::string Literal(const std::string& line) {
  std::string out = "\"";
  for (const char c : line) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\\n\"";
}

}  // namespace

std::string FormatCStrings(const std::vector<std::string>& paths) {
  std::vector<std::vector<uint8_t>> contents;
  for (const auto& path : paths) {
    if (!EndsWith(path, ".crt") && !EndsWith(path, ".pem") && !EndsWith(path, ".key")) {
      throw host::UsageError(path + ": not a .crt, .pem or .key file");
    }
    contents.push_back(host::ReadFile(path));
  }
  std::string out;
  for (size_t i = 0; i < paths.size(); ++i) {
    out += "String format of " + paths[i] + " file:\n";
    const auto lines = Lines(contents[i]);
    for (size_t j = 0; j < lines.size(); ++j) {
      out += Literal(lines[j]) + (j + 1 < lines.size() ? "\\\n" : "\n");
    }
    out += "\n";
  }
  return out;
}

}  // namespace mqota::cli
