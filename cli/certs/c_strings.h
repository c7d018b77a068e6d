// `mqota certs --c-strings`: PEM files as C string literals, to paste into a
// device's configuration header (the reference's format_cert_key.py,
// docs/spec/reference-protocol.md#certificates-as-c-strings), byte for byte the
// same output for PEM files.
#pragma once

#include <string>
#include <vector>

namespace mqota::cli {

// For each file: the line "String format of <file> file:", then each line
// of the file as "<line>\n" followed by a backslash (a line continuation),
// except the last, which ends without one, then an empty line:
//
//   "-----BEGIN CERTIFICATE-----\n"<backslash>
//   "MIIB...\n"<backslash>
//   "-----END CERTIFICATE-----\n"
//
// Line ends (LF or CRLF) are dropped and written as "\n"; unlike the Python
// script, '"' and '\' are escaped, so any text file gives a valid literal.
// Checks every file before printing any: throws UsageError for a name not
// ending in .crt, .pem or .key, or an unreadable file.
std::string FormatCStrings(const std::vector<std::string>& paths);

}  // namespace mqota::cli
