// `mqota image ...`: a drop-in for MCUboot's imgtool (keygen, getpub,
// getpubhash, sign/create, verify, dumpinfo).
#pragma once

#include <CLI/CLI.hpp>

namespace mqota::cli {

// Adds the `image` command and its subcommands to `app`. Each subcommand runs
// from its callback and throws CommandError on failure.
void AddImageCommands(CLI::App& app);

}  // namespace mqota::cli
