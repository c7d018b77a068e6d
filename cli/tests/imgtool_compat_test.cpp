// Byte compatibility with MCUboot's imgtool: the Ed25519 images imgtool 2.4.0
// made with each argument set (tests/vectors/compat/imgtool-ed25519-sign.json,
// recorded as SHA-256 and size) must come out of `mqota image sign` identical.
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <fstream>

#include "mqota/testing/files.h"
#include "mqota/testing/process.h"

namespace mqota::cli {
namespace {

using mqota::testing::ReadFileBytes;
using mqota::testing::TempDir;
using mqota::testing::ToHex;
using mqota::testing::VectorPath;

nlohmann::json Cases() {
  std::ifstream in(VectorPath("../compat/imgtool-ed25519-sign.json"));
  return nlohmann::json::parse(in)["cases"];
}

TEST(ImgtoolCompat, Ed25519ImagesAreByteIdenticalToImgtools) {
  TempDir dir;
  const auto cases = Cases();
  ASSERT_GE(cases.size(), 14u);
  for (const auto& c : cases) {
    std::vector<std::string> argv = {mqota::testing::BinPath("mqota"), "image", "sign", "-k",
                                     VectorPath("ed25519-test-key.pem").string()};
    std::string joined;
    for (const auto& a : c["args"]) {
      argv.push_back(a.get<std::string>());
      joined += a.get<std::string>() + " ";
    }
    const std::string out = (dir / "out.bin").string();
    argv.push_back(VectorPath("payload-20000.bin").string());
    argv.push_back(out);
    const auto run = mqota::testing::RunProcess(argv);
    ASSERT_EQ(run.exit_code, 0) << joined << run.err;
    const auto bytes = ReadFileBytes(out);
    unsigned char digest[32];
    unsigned int len = 0;
    EVP_Digest(bytes.data(), bytes.size(), digest, &len, EVP_sha256(), nullptr);
    EXPECT_EQ(bytes.size(), c["size"].get<size_t>()) << joined;
    EXPECT_EQ(ToHex(std::span(digest, 32)), c["sha256"].get<std::string>()) << joined;
  }
}

}  // namespace
}  // namespace mqota::cli
