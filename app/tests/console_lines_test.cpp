// The demo firmware's console line for a session that ended without an
// install: what it refused and why, in one line; nothing for the quiet ends.
#include "console_lines.h"

#include <gtest/gtest.h>

namespace mqota::app {
namespace {

agent::AgentStatus Ended(agent::SessionEnd end) {
  agent::AgentStatus s;
  s.last_end = end;
  s.offered = {1, 2, 0, 0};
  return s;
}

TEST(SessionEndLine, NamesTheVersionAndTheReasonOfARefusal) {
  EXPECT_EQ(SessionEndLine(Ended(agent::SessionEnd::kWrongBoard), "KIT_A"),
            "ota: refused 1.2.0: the job is for another board (this is KIT_A)");
  EXPECT_EQ(SessionEndLine(Ended(agent::SessionEnd::kRedirect), "KIT_A"),
            "ota: refused 1.2.0: the job names another broker");
  auto untrusted = Ended(agent::SessionEnd::kVerifyFailed);
  untrusted.verify_error = image::ImageErrc::kUnknownKey;
  EXPECT_EQ(SessionEndLine(untrusted, "KIT_A"),
            "ota: refused 1.2.0: the image failed verification (" +
                std::string(image::Describe(image::ImageErrc::kUnknownKey)) + "); erased");
  EXPECT_EQ(SessionEndLine(Ended(agent::SessionEnd::kBadJob), "KIT_A"),
            "ota: refused a job document: malformed job document");
  EXPECT_EQ(SessionEndLine(Ended(agent::SessionEnd::kStalled), "KIT_A"),
            "ota: download of 1.2.0 stopped: chunks stopped coming; it resumes at the next check");
}

TEST(SessionEndLine, SaysNothingForTheEndsOfEveryCheckOrAnInstall) {
  for (const auto end : {agent::SessionEnd::kNone, agent::SessionEnd::kNoJob,
                         agent::SessionEnd::kNoUpdate, agent::SessionEnd::kInstalled}) {
    EXPECT_EQ(SessionEndLine(Ended(end), "KIT_A"), std::nullopt) << agent::Describe(end);
  }
}

// Every end is a one-line message (or none).
TEST(SessionEndLine, IsOneLineForEveryEnd) {
  for (int i = 0; i <= static_cast<int>(agent::SessionEnd::kInstalled); ++i) {
    const auto line = SessionEndLine(Ended(static_cast<agent::SessionEnd>(i)), "KIT_A");
    if (line) {
      EXPECT_EQ(line->find('\n'), std::string::npos) << *line;
    }
  }
}

}  // namespace
}  // namespace mqota::app
