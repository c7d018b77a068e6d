#include "mqota/host/command_error.h"

#include <exception>
#include <iostream>

namespace mqota::host {

int RunMain(const char* program, int (*run)(int, char**), int argc, char** argv,
            int internal_error_exit) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << program << ": internal error: " << e.what() << "\n";
    return internal_error_exit;
  }
}

}  // namespace mqota::host
