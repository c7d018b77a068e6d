// The server's log: one line per event, each line whole even when several
// threads write at once, and every device-supplied text made printable first
// so a hostile message cannot forge or break lines (R1).
#pragma once

#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace mqota::server {

enum class LogLevel { kError, kWarn, kInfo, kDebug };

// "error", "warn", "info", "debug"; nullopt for anything else.
std::optional<LogLevel> ParseLogLevel(std::string_view text);
const char* LevelName(LogLevel level);

// `text` with control characters, backslashes and bytes >= 0x80 written as
// \xNN, cut to `max_bytes` (then "..." is appended): safe to put in a log line.
std::string Printable(std::string_view text, size_t max_bytes = 160);

class Logger {
 public:
  using Sink = std::function<void(std::string_view line)>;

  // Writes to stderr.
  explicit Logger(LogLevel level);
  // Writes to `sink` (tests), which gets the line without the timestamp.
  Logger(LogLevel level, Sink sink);

  bool Enabled(LogLevel level) const { return level <= level_; }
  // `line` is already printable and has no newline.
  void Write(LogLevel level, std::string_view line);

  void Error(std::string_view line) { Write(LogLevel::kError, line); }
  void Warn(std::string_view line) { Write(LogLevel::kWarn, line); }
  void Info(std::string_view line) { Write(LogLevel::kInfo, line); }
  void Debug(std::string_view line) { Write(LogLevel::kDebug, line); }

 private:
  LogLevel level_;
  Sink sink_;
  std::mutex mutex_;
};

}  // namespace mqota::server
