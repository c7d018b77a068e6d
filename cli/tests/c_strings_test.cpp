// `mqota certs --c-strings`: format_cert_key.py's output
// (docs/spec/reference-protocol.md#certificates-as-c-strings), and errors
// instead of its silent skips.
#include "certs/c_strings.h"

#include <gtest/gtest.h>

#include <fstream>

#include "mqota/host/command_error.h"
#include "mqota/testing/files.h"

namespace mqota::cli {
namespace {

using mqota::testing::TempDir;

std::string Write(const TempDir& dir, const std::string& name, const std::string& text) {
  const std::string path = (dir / name).string();
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

TEST(CStrings, EachLineIsALiteralWithAContinuationButTheLast) {
  TempDir dir;
  const std::string a =
      Write(dir, "a.crt", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
  const std::string b = Write(dir, "b.key", "one\r\ntwo \"q\" \\ end");
  EXPECT_EQ(FormatCStrings({a, b}), "String format of " + a +
                                        " file:\n"
                                        "\"-----BEGIN CERTIFICATE-----\\n\"\\\n"
                                        "\"MIIB\\n\"\\\n"
                                        "\"-----END CERTIFICATE-----\\n\"\n"
                                        "\n"
                                        "String format of " +
                                        b +
                                        " file:\n"
                                        "\"one\\n\"\\\n"
                                        "\"two \\\"q\\\" \\\\ end\\n\"\n"
                                        "\n");
}

TEST(CStrings, RefusesOtherExtensionsAndUnreadableFilesBeforePrintingAnything) {
  TempDir dir;
  const std::string good = Write(dir, "a.pem", "x\n");
  const std::string txt = Write(dir, "notes.txt", "x\n");
  for (const auto& [paths, needle] : std::vector<std::pair<std::vector<std::string>, std::string>>{
           {{good, txt}, "notes.txt: not a .crt, .pem or .key file"},
           {{good, (dir / "missing.crt").string()}, "missing.crt: No such file or directory"},
           {{dir.path().string() + "/sub.key"}, "sub.key: No such file or directory"}}) {
    try {
      FormatCStrings(paths);
      ADD_FAILURE() << "no error for " << needle;
    } catch (const host::CommandError& e) {
      EXPECT_EQ(e.exit_code(), host::kExitUsage);
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace mqota::cli
