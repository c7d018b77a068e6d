// `mqota delta make|apply|info`: delta patches between two signed images
// (docs/spec/delta-patch.md).
#pragma once

#include <CLI/CLI.hpp>

namespace mqota::cli {

// Adds the `delta` command and its subcommands to `app`. Each subcommand runs
// from its callback and throws CommandError on failure: exit 1 when an input
// is not what it must be (not an image, a corrupt patch, the wrong source),
// 2 for usage errors and unreadable files.
void AddDeltaCommands(CLI::App& app);

}  // namespace mqota::cli
