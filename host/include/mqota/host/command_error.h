// How host commands fail: one line for the user and an exit code.
//
// The device core returns errors as values; the host CLI throws CommandError
// instead and main() turns it into "mqota: <message>" on stderr and the exit
// code. A command is a straight line of steps that all end the same way on
// failure, and unwinding also removes half-written output (AtomicFile).
#pragma once

#include <stdexcept>
#include <string>

namespace mqota::host {

// imgtool's exit codes, kept for drop-in use in build scripts.
enum ExitCode : int {
  kExitOk = 0,
  kExitVerifyFailed = 1,  // the input is not a valid or trusted image
  kExitUsage = 2,         // bad arguments, unreadable files, unusable keys
};

class CommandError : public std::runtime_error {
 public:
  CommandError(int exit_code, const std::string& message)
      : std::runtime_error(message), exit_code_(exit_code) {}
  int exit_code() const { return exit_code_; }

 private:
  int exit_code_;
};

inline CommandError UsageError(const std::string& message) { return {kExitUsage, message}; }

// A program's main: returns run(argc, argv). `run` turns every failure of the
// program into one line and an exit code; what escapes it anyway (building
// the command line itself, say) is a bug, still said in one line,
// "<program>: internal error: <what>", with `internal_error_exit`, rather
// than by std::terminate.
int RunMain(const char* program, int (*run)(int, char**), int argc, char** argv,
            int internal_error_exit);

}  // namespace mqota::host
