#include "mqota/host/numbers.h"

#include <gtest/gtest.h>

#include "mqota/host/command_error.h"

namespace mqota::host {
namespace {

TEST(ParseInteger, AcceptsPythonIntBaseZeroSyntax) {
  EXPECT_EQ(ParseInteger("0", "n"), 0u);
  EXPECT_EQ(ParseInteger("1024", "n"), 1024u);
  EXPECT_EQ(ParseInteger("0x400", "n"), 0x400u);
  EXPECT_EQ(ParseInteger("0X1F", "n"), 0x1fu);
  EXPECT_EQ(ParseInteger("0o17", "n"), 15u);
  EXPECT_EQ(ParseInteger("0b101", "n"), 5u);
  EXPECT_EQ(ParseInteger("0xffffffff", "n"), 0xffffffffu);
}

TEST(ParseInteger, RejectsWhatPythonRejectsAndOverflow) {
  for (const char* bad : {"", "010", "0x", "0xg", "12a", "-1", " 1", "0z1", "0b2", "0o8",
                          "0x100000000", "4294967296"}) {
    EXPECT_THROW(ParseInteger(bad, "n"), CommandError) << bad;
  }
}

TEST(ParseInteger, MessageNamesTheOptionAndTheText) {
  try {
    ParseInteger("12a", "-S/--slot-size");
    FAIL();
  } catch (const CommandError& e) {
    EXPECT_EQ(e.exit_code(), kExitUsage);
    EXPECT_NE(std::string(e.what()).find("-S/--slot-size: '12a'"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace mqota::host
