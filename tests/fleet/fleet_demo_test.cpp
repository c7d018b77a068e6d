// `mqota demo --fleet` as a newcomer runs it: the whole story plays, in
// order, within its minute: a release through every wave, then a bad one
// halting itself on its canary with the reason said, and a summary.
#include <gtest/gtest.h>

#include "mqota/testing/process.h"

namespace mqota {
namespace {

namespace mt = mqota::testing;
using namespace std::chrono_literals;

class FleetDemo : public ::testing::TestWithParam<bool> {};

TEST_P(FleetDemo, PlaysTheStoryOfAHaltedRollout) {
  std::vector<std::string> argv = {mt::BinPath("mqota"), "demo", "--fleet", "--devices", "20"};
  if (GetParam()) argv.push_back("--plain");
  const auto start = std::chrono::steady_clock::now();
  const mt::ProcessResult r = mt::RunProcess(argv, 120s);
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_LT(took, 60s);
  // The beats of the story, in order.
  size_t at = 0;
  for (const char* beat :
       {"dashboard  watch it at http://127.0.0.1:", "20 devices registered",
        "campaign   #1 1.1.0: waves of 1, 1, 8, 10 devices", "wave 1     1/1 confirmed after boot",
        "wave 2     opened",
        "campaign   #1 completed: every device confirmed or failed: 0 failed of 20",
        "campaign   #2 1.2.0", "campaign   #2 HALTED: 1 of 1 devices in the open waves failed",
        "reverted 1.2.0", "1.2.0 reached the canary only; 20 of 20 devices run 1.1.0",
        "1.1.0    20", "halted", "completed", "mqota demo --fleet: done in"}) {
    const size_t found = r.out.find(beat, at);
    ASSERT_NE(found, std::string::npos) << "missing, or out of order: \"" << beat << "\"\n"
                                        << r.out;
    at = found;
  }
}

INSTANTIATE_TEST_SUITE_P(Transports, FleetDemo, ::testing::Values(false, true),
                         [](const auto& p) { return p.param ? "Plain" : "Tls"; });

}  // namespace
}  // namespace mqota
