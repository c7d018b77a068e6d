// mqota-board as a user runs it: images run from the slot, the watchdog
// resets a hung one, a bad primary halts the board with a reason, and a
// killed board takes its application with it (a power cut leaves nothing).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "mqota/board/layout.h"
#include "mqota/testing/files.h"
#include "mqota/testing/process.h"

namespace mqota::board {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::BinPath;
using testing::RunProcess;

class BoardTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto made = RunProcess({BinPath("mqota-board"), "create", "--dir", Dir(), "--boot-key",
                                  testing::FirmwarePath("demo-signing-key.pem").string(),
                                  "--device-id", "dev-1", "--broker", "127.0.0.1:9", "--plain"});
    ASSERT_EQ(made.exit_code, 0) << made.err;
  }
  std::string Dir() const { return (tmp_.path() / "board").string(); }
  void Flash(const fs::path& image) {
    const auto r = RunProcess({BinPath("mqota-board"), "flash", "--dir", Dir(), image.string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  testing::ProcessResult Run(int power_off_ms, int watchdog_ms = 4000) {
    return RunProcess({BinPath("mqota-board"), "run", "--dir", Dir(), "--events", Events(),
                       "--power-off-after-ms", std::to_string(power_off_ms), "--watchdog-ms",
                       std::to_string(watchdog_ms)},
                      std::chrono::seconds(30));
  }
  std::string Events() const { return (tmp_.path() / "events.jsonl").string(); }
  std::vector<json> Read(const std::string& kind) const {
    std::vector<json> out;
    std::ifstream in(Events());
    for (std::string line; std::getline(in, line);) {
      const json e = json::parse(line);
      if (e["event"] == kind) out.push_back(e);
    }
    return out;
  }
  testing::TempDir tmp_;
};

TEST_F(BoardTest, RunsTheImageFromThePrimarySlotAndMeasuresItsLed) {
  Flash(testing::FirmwarePath("demo-1.0.0.bin"));
  const auto r = Run(3600);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  ASSERT_EQ(Read("boot").size(), 1u);
  EXPECT_EQ(Read("boot")[0]["version"], "1.0.0");
  const auto starts = Read("app-start");
  ASSERT_EQ(starts.size(), 1u);
  // The program is the image's payload, not a file: its size is img_size.
  EXPECT_EQ(starts[0]["bytes"].get<uint64_t>(),
            fs::file_size(testing::FirmwarePath("mqota-demo-1.0.0.payload")));
  std::vector<double> rises;
  for (const auto& e : Read("led")) {
    if (e["on"] == true) rises.push_back(e["t"].get<double>());
  }
  ASSERT_GE(rises.size(), 3u);
  for (size_t i = 1; i < rises.size(); ++i) EXPECT_NEAR(rises[i] - rises[i - 1], 1000.0, 50.0);
  EXPECT_NE(r.out.find("uart  mqota demo firmware 1.0.0"), std::string::npos) << r.out;
}

// The board name was fixed at compile time, so a job for the reference kit
// was ignored; it is provisioned now, and the firmware reports (and matches
// jobs against) the provisioned name.
TEST_F(BoardTest, TheBoardNameIsProvisioned) {
  const auto made =
      RunProcess({BinPath("mqota-board"), "create", "--force", "--dir", Dir(), "--boot-key",
                  testing::FirmwarePath("demo-signing-key.pem").string(), "--device-id", "dev-1",
                  "--broker", "127.0.0.1:9", "--plain", "--board-name", "CY8CPROTO_062_4343W"});
  ASSERT_EQ(made.exit_code, 0) << made.err;
  std::ifstream device(fs::path(Dir()) / "provisioning" / "device.json");
  EXPECT_EQ(json::parse(device)["board"], "CY8CPROTO_062_4343W");
  Flash(testing::FirmwarePath("demo-1.0.0.bin"));
  const auto r = Run(1500);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("device dev-1 on CY8CPROTO_062_4343W"), std::string::npos) << r.out;
  // A name that cannot be one topic level is refused in one line.
  const auto bad =
      RunProcess({BinPath("mqota-board"), "create", "--force", "--dir", Dir(), "--boot-key",
                  testing::FirmwarePath("demo-signing-key.pem").string(), "--device-id", "dev-1",
                  "--broker", "127.0.0.1:9", "--plain", "--board-name", "KIT/A"});
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.err.find("KIT/A"), std::string::npos) << bad.err;
  EXPECT_EQ(std::count(bad.err.begin(), bad.err.end(), '\n'), 1) << bad.err;
}

TEST_F(BoardTest, TheWatchdogResetsAHungImage) {
  Flash(testing::FirmwarePath("demo-1.2.0.bin"));  // TEST_REVERT: hangs without kicking
  const auto r = Run(2700, 1000);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto bites = Read("watchdog");
  ASSERT_EQ(bites.size(), 2u);
  EXPECT_NEAR(bites[0]["t"].get<double>() - Read("app-start")[0]["t"].get<double>(), 1000.0, 100.0);
  EXPECT_EQ(Read("boot").size(), 3u);  // power-on, then one boot per bite
  EXPECT_TRUE(Read("led").empty());
}

TEST_F(BoardTest, AnImageThatIsNoProgramIsACrashTheWatchdogCatches) {
  const fs::path blob = tmp_.path() / "blob.bin";
  std::ofstream(blob) << std::string(5000, 'x');
  const fs::path signed_blob = tmp_.path() / "blob.signed.bin";
  const auto s = RunProcess({BinPath("mqota"), "image", "sign", "-k",
                             testing::FirmwarePath("demo-signing-key.pem").string(), "-v", "1.0.0",
                             "-H", "0x400", "--pad-header", "--align", "8", "-S", "0x1c0000", "-M",
                             "448", blob.string(), signed_blob.string()});
  ASSERT_EQ(s.exit_code, 0) << s.err;
  Flash(signed_blob);
  const auto r = Run(1500, 1000);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_FALSE(Read("app-exit").empty());
  EXPECT_EQ(Read("app-exit")[0]["status"], "exit 127");
  EXPECT_EQ(Read("watchdog").size(), 1u);
}

TEST_F(BoardTest, ACorruptPrimaryHaltsTheBoardWithTheReason) {
  Flash(testing::FirmwarePath("demo-1.0.0.bin"));
  {
    std::fstream chip(tmp_.path() / "board" / "internal-flash.bin",
                      std::ios::in | std::ios::out | std::ios::binary);
    chip.seekp(kPrimaryOffset + kImageHeaderBytes + 100);
    chip.put('\x42');  // one payload byte: the hash no longer matches
  }
  const auto r = Run(2000);
  EXPECT_EQ(r.exit_code, 3) << r.out;
  ASSERT_EQ(Read("halt").size(), 1u);
  const std::string reason = Read("halt")[0]["reason"];
  EXPECT_NE(reason.find("holds no valid image"), std::string::npos) << reason;
  EXPECT_NE(reason.find("invalid hash"), std::string::npos) << reason;
  EXPECT_TRUE(Read("app-start").empty());  // never runs an image that fails validation
}

TEST_F(BoardTest, KillingTheBoardKillsItsApplication) {
  Flash(testing::FirmwarePath("demo-1.0.0.bin"));
  const pid_t board = fork();
  ASSERT_GE(board, 0);
  if (board == 0) {
    execl(BinPath("mqota-board").c_str(), "mqota-board", "run", "--dir", Dir().c_str(), "--events",
          Events().c_str(), "--quiet", static_cast<char*>(nullptr));
    _exit(127);
  }
  pid_t app = 0;
  for (int i = 0; i < 200 && app == 0; ++i) {  // up to 2 s for the application to start
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    std::ifstream children("/proc/" + std::to_string(board) + "/task/" + std::to_string(board) +
                           "/children");
    children >> app;
  }
  ASSERT_GT(app, 0);
  kill(board, SIGKILL);  // the power cut
  waitpid(board, nullptr, 0);
  bool gone = false;
  for (int i = 0; i < 200 && !gone; ++i) {
    gone = kill(app, 0) != 0;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(gone) << "the application outlived its board";
}

}  // namespace
}  // namespace mqota::board
