// `mqota certs`: make the broker's PKI (pki.h) or print PEM files as C
// strings (c_strings.h).
#pragma once

#include <CLI/CLI.hpp>

namespace mqota::cli {

void AddCertsCommand(CLI::App& app);

}  // namespace mqota::cli
