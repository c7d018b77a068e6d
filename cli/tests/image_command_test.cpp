// `mqota image ...` as a user runs it: exit codes, messages, files.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>

#include "mqota/testing/files.h"
#include "mqota/testing/process.h"

namespace mqota::cli {
namespace {

using mqota::testing::BinPath;
using mqota::testing::ExpectedVectors;
using mqota::testing::ProcessResult;
using mqota::testing::ReadFileBytes;
using mqota::testing::RunProcess;
using mqota::testing::TempDir;
using mqota::testing::VectorPath;
using mqota::testing::WriteFileBytes;

ProcessResult Mqota(std::vector<std::string> args) {
  args.insert(args.begin(), BinPath("mqota"));
  return RunProcess(args);
}

std::string Vector(const std::string& name) { return VectorPath(name).string(); }

// One line on stderr, naming `needle`.
void ExpectOneLineError(const ProcessResult& r, int exit_code, const std::string& needle) {
  EXPECT_EQ(r.exit_code, exit_code) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_NE(r.err.find(needle), std::string::npos) << r.err;
}

std::vector<std::string> RecordedSignArgs() {
  return {"image", "sign", "-H",      "0x400", "--pad-header", "--align",
          "8",     "-v",   "1.2.3+4", "-S",    "0x10000"};
}

TEST(ImageVerifyCommand, EveryImgtoolVectorVerifies) {
  for (const char* name :
       {"ecdsa-v1.2.3+4.bin", "ecdsa-v1.2.3+4-pad-slot64k.bin", "unsigned-hashonly-v1.2.3+4.bin"}) {
    const auto r = Mqota({"image", "verify", Vector(name)});
    EXPECT_EQ(r.exit_code, 0) << name << r.err;
    EXPECT_EQ(r.out,
              "Image was correctly validated\nImage version: 1.2.3+4\nImage digest: "
              "1fb210f9cea4b17e76b62e87718f462d85d77528cb5280d9660994944db154cd\n")
        << name;
  }
  const auto keyed = Mqota({"image", "verify", "-k", Vector("ecdsa-p256-test-key.pub.pem"),
                            Vector("ecdsa-v1.2.3+4.bin")});
  EXPECT_EQ(keyed.exit_code, 0) << keyed.err;
}

TEST(ImageVerifyCommand, FailuresExitOneWithImgtoolsMessages) {
  TempDir dir;
  auto bytes = ReadFileBytes(VectorPath("ecdsa-v1.2.3+4.bin"));
  auto flipped = bytes;
  flipped[0x500] ^= 1;
  WriteFileBytes(dir / "hash.bin", flipped);
  ExpectOneLineError(Mqota({"image", "verify", (dir / "hash.bin").string()}), 1,
                     "Image has an invalid hash");

  auto bad_sig = bytes;
  bad_sig[bad_sig.size() - 1] ^= 1;
  WriteFileBytes(dir / "sig.bin", bad_sig);
  ExpectOneLineError(Mqota({"image", "verify", "-k", Vector("ecdsa-p256-test-key.pem"),
                            (dir / "sig.bin").string()}),
                     1, "No signature found for the given key");

  ExpectOneLineError(Mqota({"image", "verify", "-k", Vector("ed25519-test-key.pem"),
                            Vector("ecdsa-v1.2.3+4.bin")}),
                     1, "No signature found for the given key");

  auto magic = bytes;
  magic[0] = 0;
  WriteFileBytes(dir / "magic.bin", magic);
  ExpectOneLineError(Mqota({"image", "verify", (dir / "magic.bin").string()}), 1,
                     "Invalid image magic; is this an MCUboot image?");
}

TEST(ImageVerifyCommand, TruncatedAndOverrunningImagesNameTheFileAndProblem) {
  TempDir dir;
  const auto bytes = ReadFileBytes(VectorPath("ecdsa-v1.2.3+4.bin"));
  WriteFileBytes(dir / "short.bin", std::span(bytes).first(5000));
  ExpectOneLineError(Mqota({"image", "verify", (dir / "short.bin").string()}), 1,
                     "short.bin: the image is truncated");

  auto overrun = bytes;
  overrun[21024 + 4 + 2] = 0xff;  // SHA256 TLV length runs past the block
  WriteFileBytes(dir / "overrun.bin", overrun);
  ExpectOneLineError(
      Mqota({"image", "verify", (dir / "overrun.bin").string()}), 1,
      "overrun.bin: a TLV entry runs past the end of its TLV area (at offset 0x5224)");
}

TEST(ImageVerifyCommand, UnreadableFilesAndNonKeysAreUsageErrors) {
  TempDir dir;
  ExpectOneLineError(Mqota({"image", "verify", (dir / "missing.bin").string()}), 2,
                     "missing.bin: No such file or directory");
  WriteFileBytes(dir / "notakey.pem", std::vector<uint8_t>{'h', 'e', 'l', 'l', 'o'});
  ExpectOneLineError(Mqota({"image", "verify", "-k", (dir / "notakey.pem").string(),
                            Vector("ecdsa-v1.2.3+4.bin")}),
                     2, "notakey.pem: not a PEM private or public key");
}

TEST(ImageKeyCommands, KeysMqotaCannotSignWithAreRefusedByName) {
  TempDir dir;
  const std::string rsa = (dir / "rsa.pem").string();
  const std::string p384 = (dir / "p384.pem").string();
  const std::string locked = (dir / "locked.pem").string();
  ASSERT_EQ(RunProcess({"/usr/bin/openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt",
                        "rsa_keygen_bits:2048", "-out", rsa})
                .exit_code,
            0);
  ASSERT_EQ(RunProcess({"/usr/bin/openssl", "genpkey", "-algorithm", "EC", "-pkeyopt",
                        "ec_paramgen_curve:P-384", "-out", p384})
                .exit_code,
            0);
  ASSERT_EQ(RunProcess({"/usr/bin/openssl", "genpkey", "-algorithm", "ED25519", "-aes256", "-pass",
                        "pass:secret", "-out", locked})
                .exit_code,
            0);
  ExpectOneLineError(Mqota({"image", "getpub", "-k", rsa}), 2,
                     "rsa.pem: unsupported key type (RSA-2048 key)");
  ExpectOneLineError(Mqota({"image", "getpub", "-k", p384}), 2,
                     "p384.pem: unsupported key type (EC key on curve secp384r1)");
  ExpectOneLineError(Mqota({"image", "getpub", "-k", locked}), 2,
                     "locked.pem: the key is password-protected");
  ExpectOneLineError(Mqota({"image", "getpub", "-k", (dir / "absent.pem").string()}), 2,
                     "absent.pem: No such file or directory");
  ExpectOneLineError(Mqota({"image", "getpub", "-k", dir.path().string()}), 2, "Is a directory");
}

TEST(ImageSignCommand, SignsAndTheResultVerifies) {
  TempDir dir;
  auto args = RecordedSignArgs();
  args.insert(args.end(), {"-k", Vector("ecdsa-p256-test-key.pem"), Vector("payload-20000.bin"),
                           (dir / "out.bin").string()});
  const auto r = Mqota(args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto v = Mqota(
      {"image", "verify", "-k", Vector("ecdsa-p256-test-key.pub.pem"), (dir / "out.bin").string()});
  EXPECT_EQ(v.exit_code, 0) << v.err;
  EXPECT_NE(v.out.find("1fb210f9cea4b17e76b62e87718f462d85d77528cb5280d9660994944db154cd"),
            std::string::npos);
}

TEST(ImageSignCommand, TooBigForTheSlotLeavesNoOutputBehind) {
  TempDir dir;
  std::vector<std::string> args = {"image",
                                   "sign",
                                   "-H",
                                   "0x400",
                                   "--pad-header",
                                   "--align",
                                   "8",
                                   "-v",
                                   "1.0.0",
                                   "-S",
                                   "0x5e00",
                                   Vector("payload-20000.bin"),
                                   (dir / "out.bin").string()};
  ExpectOneLineError(Mqota(args), 2,
                     "Image size (0x5248) + trailer (0xc30) exceeds requested size 0x5e00");
  EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
}

TEST(ImageSignCommand, UsageErrorsExitTwo) {
  TempDir dir;
  const std::string out = (dir / "out.bin").string();
  // Missing required -H.
  EXPECT_EQ(
      Mqota({"image", "sign", "-v", "1.0.0", "-S", "0x10000", Vector("payload-20000.bin"), out})
          .exit_code,
      2);
  ExpectOneLineError(Mqota({"image", "sign", "-H", "0x400", "-v", "1.0.0", "-S", "0x10000",
                            Vector("payload-20000.bin"), out}),
                     2, "Header padding was not requested and image does not start with zeros");
  ExpectOneLineError(Mqota({"image", "sign", "-H", "0x400", "--pad-header", "-v", "1.02", "-S",
                            "0x10000", Vector("payload-20000.bin"), out}),
                     2, "-v/--version: '1.02' is not a valid version");
  ExpectOneLineError(Mqota({"image", "sign", "-H", "0x400", "--pad-header", "-v", "1.0.0", "-S",
                            "0x10000", "-E", "enc.pem", Vector("payload-20000.bin"), out}),
                     2, "-E,--encrypt is not supported");
  ExpectOneLineError(
      Mqota({"image", "sign", "-H", "0x400", "--pad-header", "-v", "1.0.0", "-S", "0x10000", "-k",
             Vector("ecdsa-p256-test-key.pub.pem"), Vector("payload-20000.bin"), out}),
      2, "Cannot sign with a public-only PEM");
  ExpectOneLineError(Mqota({"image", "sign", "-H", "16", "-v", "1.0.0", "-S", "0x10000",
                            Vector("payload-20000.bin"), out}),
                     2, "Minimum value for -H/--header-size is 32");
  EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
}

TEST(ImageKeyCommands, KeygenWritesPrivateKeysOnlyTheOwnerCanRead) {
  TempDir dir;
  for (const char* type : {"ecdsa-p256", "ed25519"}) {
    const std::string path = (dir / (std::string(type) + ".pem")).string();
    const auto r = Mqota({"image", "keygen", "-k", path, "-t", type});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    struct stat st {};
    ASSERT_EQ(stat(path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    const auto text = ReadFileBytes(path);
    EXPECT_EQ(std::string(text.begin(), text.begin() + 27), "-----BEGIN PRIVATE KEY-----");
    // The key signs an image that then verifies with its public half.
    auto args = RecordedSignArgs();
    args.insert(args.end(), {"-k", path, Vector("payload-20000.bin"), path + ".img"});
    ASSERT_EQ(Mqota(args).exit_code, 0);
    EXPECT_EQ(Mqota({"image", "verify", "-k", path, path + ".img"}).exit_code, 0);
    // A second keygen must not destroy the key.
    ExpectOneLineError(Mqota({"image", "keygen", "-k", path, "-t", type}), 2,
                       "refusing to overwrite");
    EXPECT_EQ(ReadFileBytes(path), text);
  }
}

TEST(ImageKeyCommands, GetpubAndGetpubhashMatchTheRecordedKeys) {
  const auto& keys = ExpectedVectors()["keys"];
  const auto hash =
      Mqota({"image", "getpubhash", "-k", Vector("ecdsa-p256-test-key.pem"), "-e", "hex"});
  EXPECT_EQ(hash.out, keys["ecdsa-p256"]["keyhash_sha256"].get<std::string>() + "\n");
  const auto raw =
      Mqota({"image", "getpub", "-k", Vector("ed25519-test-key.pub.pem"), "-e", "raw"});
  EXPECT_EQ(mqota::testing::ToHex(
                std::span(reinterpret_cast<const uint8_t*>(raw.out.data()), raw.out.size())),
            keys["ed25519"]["spki_der_hex"].get<std::string>());
  const auto pem = Mqota({"image", "getpub", "-k", Vector("ecdsa-p256-test-key.pem"), "-e", "pem"});
  const auto pub = ReadFileBytes(VectorPath("ecdsa-p256-test-key.pub.pem"));
  EXPECT_EQ(pem.out, std::string(pub.begin(), pub.end()));
  const auto c = Mqota({"image", "getpub", "-k", Vector("ecdsa-p256-test-key.pem")});
  EXPECT_EQ(c.out.rfind("/* Autogenerated by imgtool.py, do not edit. */\n"
                        "const unsigned char ecdsa_pub_key[] = {\n",
                        0),
            0u)
      << c.out;
  EXPECT_NE(c.out.find("\n    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86,\n"),
            std::string::npos);
  EXPECT_NE(c.out.find("0x51, 0x44,\n};\nconst unsigned int ecdsa_pub_key_len = 91;\n"),
            std::string::npos)
      << c.out;
}

TEST(ImageDumpinfoCommand, JsonReportsTheRecordedHeaderDigestAndTlvs) {
  const auto r = Mqota({"image", "dumpinfo", "--json", Vector("ecdsa-v1.2.3+4-pad-slot64k.bin")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto info = nlohmann::json::parse(r.out);
  const auto& expected = ExpectedVectors()["images"]["ecdsa-v1.2.3+4-pad-slot64k.bin"];
  EXPECT_EQ(info["header"]["magic"], 0x96f3b83d);
  EXPECT_EQ(info["header"]["hdr_size"], 0x400);
  EXPECT_EQ(info["header"]["img_size"], 20000);
  EXPECT_EQ(info["header"]["version"], "1.2.3+4");
  EXPECT_EQ(info["digest"]["computed"], expected["sha256_digest"]);
  EXPECT_EQ(info["digest"]["matches_tlv"], true);
  ASSERT_EQ(info["tlv_area"]["tlvs"].size(), expected["tlvs"].size());
  for (size_t i = 0; i < expected["tlvs"].size(); ++i) {
    EXPECT_EQ(info["tlv_area"]["tlvs"][i]["type"], expected["tlvs"][i]["type"]);
    EXPECT_EQ(info["tlv_area"]["tlvs"][i]["len"], expected["tlvs"][i]["len"]);
    EXPECT_EQ(info["tlv_area"]["tlvs"][i]["data"], expected["tlvs"][i]["value_hex"]);
  }
  EXPECT_EQ(info["tlv_area"]["tlv_hdr"]["tlv_tot"], 151);
  EXPECT_EQ(info["trailer"]["magic"], expected["trailer"]["magic_last16_hex"]);
  EXPECT_EQ(info["trailer"]["image_ok"], 0xff);
  EXPECT_EQ(info["trailer"]["swap_size"], 0xffffffffu);
}

TEST(ImageDumpinfoCommand, HumanOutputNamesTheFields) {
  const auto r = Mqota({"image", "dumpinfo", Vector("ecdsa-v1.2.3+4.bin")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("version:            1.2.3+4"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("ECDSASIG (0x22), 70 bytes"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("(matches the SHA256 TLV)"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace mqota::cli
