// `mqota delta ...` as a user runs it: exit codes, messages, exact bytes.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <tuple>

#include "mqota/testing/files.h"
#include "mqota/testing/process.h"
#include "mqota/testing/random_bytes.h"

namespace mqota::cli {
namespace {

using mqota::testing::BinPath;
using mqota::testing::ProcessResult;
using mqota::testing::ReadFileBytes;
using mqota::testing::RunProcess;
using mqota::testing::TempDir;
using mqota::testing::WriteFileBytes;

ProcessResult Mqota(std::vector<std::string> args) {
  args.insert(args.begin(), BinPath("mqota"));
  return RunProcess(args);
}

void ExpectOneLineError(const ProcessResult& r, int exit_code, const std::string& needle) {
  EXPECT_EQ(r.exit_code, exit_code) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_NE(r.err.find(needle), std::string::npos) << r.err;
}

// Two signed images, 1.0.0 and 1.1.0, the second a few changed bytes and a
// small insertion away from the first.
class DeltaCommand : public ::testing::Test {
 protected:
  void SetUp() override {
    key_ = (dir_ / "key.pem").string();
    ASSERT_EQ(Mqota({"image", "keygen", "-k", key_, "-t", "ecdsa-p256"}).exit_code, 0);
    auto payload = mqota::testing::PseudoRandomBytes(30000, 3);
    Sign(payload, "1.0.0", old_);
    for (size_t i = 50; i < payload.size(); i += 4000) payload[i] ^= 0x11;
    payload.insert(payload.begin() + 12000, 24, 0x42);
    Sign(payload, "1.1.0", new_);
  }

  void Sign(const std::vector<uint8_t>& payload, const std::string& version, std::string& out) {
    const auto raw = (dir_ / (version + ".payload")).string();
    out = (dir_ / (version + ".bin")).string();
    WriteFileBytes(raw, payload);
    const auto r = Mqota({"image", "sign", "-k", key_, "-v", version, "-H", "0x400", "--pad-header",
                          "--align", "8", "-S", "0x20000", raw, out});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }

  std::string Path(const std::string& name) const { return (dir_ / name).string(); }

  TempDir dir_;
  std::string key_, old_, new_;
};

TEST_F(DeltaCommand, MakeThenApplyGivesTheNewImageExactly) {
  const auto made = Mqota({"delta", "make", old_, new_, "-o", Path("p.mqd")});
  ASSERT_EQ(made.exit_code, 0) << made.err;
  EXPECT_NE(made.out.find("1.1.0"), std::string::npos) << made.out;
  const auto patch = ReadFileBytes(Path("p.mqd"));
  EXPECT_LT(patch.size(), ReadFileBytes(new_).size() / 10);

  const auto applied = Mqota({"delta", "apply", old_, Path("p.mqd"), "-o", Path("new.bin")});
  ASSERT_EQ(applied.exit_code, 0) << applied.err;
  EXPECT_EQ(ReadFileBytes(Path("new.bin")), ReadFileBytes(new_));
  EXPECT_EQ(Mqota({"image", "verify", "-k", key_, Path("new.bin")}).exit_code, 0);
}

TEST_F(DeltaCommand, InfoTellsWhatTurnsIntoWhat) {
  ASSERT_EQ(
      Mqota({"delta", "make", old_, new_, "-o", Path("p.mqd"), "--block-size", "8192"}).exit_code,
      0);
  const auto json = Mqota({"delta", "info", "--json", Path("p.mqd")});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  const auto info = nlohmann::json::parse(json.out);
  EXPECT_EQ(info["source"]["version"], "1.0.0+0");
  EXPECT_EQ(info["target"]["version"], "1.1.0+0");
  EXPECT_EQ(info["target"]["size"], ReadFileBytes(new_).size());
  EXPECT_EQ(info["block_bytes"], 8192);
  EXPECT_EQ(info["patch_size"], ReadFileBytes(Path("p.mqd")).size());
  EXPECT_EQ(info["format"], 2);
  const auto text = Mqota({"delta", "info", Path("p.mqd")});
  ASSERT_EQ(text.exit_code, 0);
  EXPECT_NE(text.out.find("target: 1.1.0"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("format 2\n"), std::string::npos) << text.out;

  // The format the patch states, not the one this build writes: the
  // format-1 vector of the decoder's tests says 1.
  const auto old_format =
      Mqota({"delta", "info", "--json", MQOTA_DELTA_VECTORS_DIR "/format1-pointer-pool.mqdp"});
  ASSERT_EQ(old_format.exit_code, 0) << old_format.err;
  EXPECT_EQ(nlohmann::json::parse(old_format.out)["format"], 1);
}

TEST_F(DeltaCommand, ApplyRefusesAWrongSourceInOneLine) {
  ASSERT_EQ(Mqota({"delta", "make", old_, new_, "-o", Path("p.mqd")}).exit_code, 0);
  const auto r = Mqota({"delta", "apply", new_, Path("p.mqd"), "-o", Path("x.bin")});
  ExpectOneLineError(r, 1, "is not this patch's source");
  EXPECT_FALSE(std::filesystem::exists(Path("x.bin")));
}

TEST_F(DeltaCommand, CorruptAndTruncatedPatchesExitOne) {
  ASSERT_EQ(Mqota({"delta", "make", old_, new_, "-o", Path("p.mqd")}).exit_code, 0);
  auto patch = ReadFileBytes(Path("p.mqd"));
  // A flipped byte of the target's digest (the header's CRC sees it). Not a
  // byte of a coded body: the coder's last flushed byte can carry no
  // information, and a flip there rightly changes nothing (delta_tests check
  // that every flip is an error or gives the exact target).
  auto corrupt = patch;
  corrupt[60] ^= 0xff;
  WriteFileBytes(Path("corrupt.mqd"), corrupt);
  ExpectOneLineError(Mqota({"delta", "apply", old_, Path("corrupt.mqd"), "-o", Path("x.bin")}), 1,
                     "corrupt.mqd: ");
  WriteFileBytes(Path("short.mqd"), std::vector<uint8_t>(patch.begin(), patch.end() - 20));
  ExpectOneLineError(Mqota({"delta", "apply", old_, Path("short.mqd"), "-o", Path("x.bin")}), 1,
                     "short.mqd: ");
  ExpectOneLineError(Mqota({"delta", "info", old_}), 1, "not an mqota delta patch");
  EXPECT_FALSE(std::filesystem::exists(Path("x.bin")));
}

TEST_F(DeltaCommand, MakeRefusesWhatIsNotAnImage) {
  WriteFileBytes(Path("junk.bin"), std::vector<uint8_t>(4096, 0x11));
  ExpectOneLineError(Mqota({"delta", "make", Path("junk.bin"), new_, "-o", Path("p.mqd")}), 1,
                     "junk.bin: ");
  ExpectOneLineError(Mqota({"delta", "make", Path("absent.bin"), new_, "-o", Path("p.mqd")}), 2,
                     "absent.bin");
  ExpectOneLineError(
      Mqota({"delta", "make", old_, new_, "-o", Path("p.mqd"), "--block-size", "100"}), 2,
      "block size");
}

TEST_F(DeltaCommand, HelpNamesTheThreeCommands) {
  const auto r = Mqota({"delta", "--help"});
  EXPECT_EQ(r.exit_code, 0);
  for (const char* word : {"make", "apply", "info"}) {
    EXPECT_NE(r.out.find(word), std::string::npos) << r.out;
  }
}

#ifdef MQOTA_FIRMWARE_DIR
// The demo's own releases. 1.0.0 -> 1.1.0 (a constant changed) must meet the
// issue's goal, <= 5 % of the image; 1.1.0 -> 1.2.0 adds the TEST_REVERT code
// path and is held to <= 20 % (mqota-bench-delta prints both beside bsdiff).
TEST(DeltaCommandDemo, DemoFirmwareRoundTripsAndStaysSmall) {
  TempDir dir;
  const std::string fw = MQOTA_FIRMWARE_DIR;
  for (const auto& [from, to, percent] :
       {std::tuple{"1.0.0", "1.1.0", 5}, std::tuple{"1.1.0", "1.2.0", 20}}) {
    const auto old_image = fw + "/demo-" + from + ".bin";
    const auto new_image = fw + "/demo-" + to + ".bin";
    const auto patch = (dir / "p.mqd").string();
    const auto out = (dir / "out.bin").string();
    ASSERT_EQ(Mqota({"delta", "make", old_image, new_image, "-o", patch}).exit_code, 0);
    ASSERT_EQ(Mqota({"delta", "apply", old_image, patch, "-o", out}).exit_code, 0);
    EXPECT_EQ(ReadFileBytes(out), ReadFileBytes(new_image)) << from << " -> " << to;
    EXPECT_LE(ReadFileBytes(patch).size() * 100, ReadFileBytes(new_image).size() * percent) << to;
  }
}
#endif

}  // namespace
}  // namespace mqota::cli
