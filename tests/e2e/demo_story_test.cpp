// The reference story end to end, as a user runs it: `mqota demo` with the
// real mosquitto, mqota-server and the virtual board running the signed demo
// firmware. Asserted from what the run leaves behind (--workdir): the boots
// in order, the LED rates measured from the board's timestamps, the bytes in
// the flash files, the reports and offers on the wire (server log), and no
// second download of the reverted 1.2.0.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "mqota/board/layout.h"
#include "mqota/testing/files.h"
#include "mqota/testing/process.h"

namespace mqota {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::BinPath;
using testing::RunProcess;

std::string Text(const fs::path& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

size_t Count(const std::string& haystack, const std::string& needle) {
  size_t n = 0;
  for (size_t at = haystack.find(needle); at != std::string::npos;
       at = haystack.find(needle, at + 1))
    ++n;
  return n;
}

class DemoStory : public ::testing::TestWithParam<bool> {};

TEST_P(DemoStory, PlaysTheReferenceStory) {
  const bool plain = GetParam();
  testing::TempDir tmp;
  const fs::path work = tmp.path() / "demo";
  std::vector<std::string> argv = {BinPath("mqota"), "demo", "--workdir", work.string()};
  if (plain) argv.push_back("--plain");
  const auto run = RunProcess(argv, std::chrono::seconds(120));
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_NE(run.out.find("The whole story took"), std::string::npos) << run.out;

  // Boots, in order, as the board recorded them.
  std::vector<std::string> boots;
  std::ifstream events(work / "board-events.jsonl");
  for (std::string line; std::getline(events, line);) {
    const json e = json::parse(line);
    if (e["event"] == "boot")
      boots.push_back(e["version"].get<std::string>() + "/" + e["swap"].get<std::string>());
  }
  const std::vector<std::string> expected = {"1.0.0/none", "1.1.0/test", "1.2.0/test",
                                             "1.1.0/revert"};
  EXPECT_EQ(boots, expected);

  // LED rates, measured by the demo from the board's edge timestamps.
  const json summary = json::parse(Text(work / "summary.json"));
  EXPECT_NEAR(summary["led_hz"]["1.0.0"].get<double>(), 1.0, 0.05);
  EXPECT_NEAR(summary["led_hz"]["1.1.0"].get<double>(), 10.0, 0.5);
  EXPECT_NEAR(summary["led_hz"]["1.1.0 after the revert"].get<double>(), 10.0, 0.5);
  EXPECT_GT(summary["checks_after_revert"].get<int>(), 0);
  EXPECT_EQ(summary["offers_after_revert"].get<int>(), 0);
  EXPECT_EQ(summary["chunks_after_revert"].get<int>(), 0);
  EXPECT_LT(summary["story_seconds"].get<double>(), 60.0);
  // Both updates travelled as delta patches, a few percent of the image.
  ASSERT_EQ(summary["patches"].size(), 2u) << summary.dump();
  EXPECT_EQ(summary["patches"][0].get<std::string>().rfind("1.1.0 came as a patch of ", 0), 0u);
  EXPECT_EQ(summary["patches"][1].get<std::string>().rfind("1.2.0 came as a patch of ", 0), 0u);

  // The flash files: 1.1.0 runs from the primary slot, the reverted 1.2.0 sits
  // in the secondary, byte for byte as signed.
  const auto v110 = testing::ReadFileBytes(testing::FirmwarePath("demo-1.1.0.bin"));
  const auto v120 = testing::ReadFileBytes(testing::FirmwarePath("demo-1.2.0.bin"));
  ASSERT_FALSE(v110.empty());
  EXPECT_EQ(testing::ReadFileBytes(work / "board" / "internal-flash.bin", board::kPrimaryOffset,
                                   v110.size()),
            v110);
  EXPECT_EQ(testing::ReadFileBytes(work / "board" / "external-flash.bin", board::kSecondaryOffset,
                                   v120.size()),
            v120);

  // The server: 1.1.0 and 1.2.0 offered once each, the revert reported, and
  // 1.2.0 held back from then on.
  const std::string server = Text(work / "server.log");
  EXPECT_EQ(Count(server, "offering MQOTA_VIRTUAL_BOARD 1.1.0"), 1u) << server;
  EXPECT_EQ(Count(server, "offering MQOTA_VIRTUAL_BOARD 1.2.0"), 1u) << server;
  EXPECT_EQ(Count(server, "as a patch of"), 2u) << server;
  // One Success per update (pending); what each boot did is a Boot Report.
  EXPECT_EQ(Count(server, "device reports Success for 1.1.0"), 1u) << server;
  EXPECT_EQ(Count(server, "device reports Success for 1.2.0"), 1u) << server;
  EXPECT_EQ(Count(server, "device reports Boot Report for 1.1.0 [confirmed]"), 1u) << server;
  EXPECT_EQ(Count(server, "device reports Boot Report for 1.2.0"), 1u) << server;
  EXPECT_NE(server.find("[reverted]"), std::string::npos) << server;
  EXPECT_NE(server.find("not offering what it reverted or refused: 1.2.0"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Transports, DemoStory, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& p) {
                           return p.param ? "Plain" : "Tls";
                         });

TEST(DemoFailure, MissingFirmwareIsOneClearLine) {
  testing::TempDir tmp;
  const auto run =
      RunProcess({BinPath("mqota"), "demo", "--firmware", (tmp.path() / "none").string()});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(run.out.find("FAILED during setup"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("build the demo firmware first"), std::string::npos) << run.out;
}

}  // namespace
}  // namespace mqota
