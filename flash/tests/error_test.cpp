#include "mqota/flash/error.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace mqota::flash {
namespace {

TEST(FlashError, EveryCodeHasItsOwnSentence) {
  std::set<std::string> sentences;
  for (FlashErrc code :
       {FlashErrc::kOutOfBounds, FlashErrc::kMisaligned, FlashErrc::kNotSectorAligned,
        FlashErrc::kNotErased, FlashErrc::kPowerLost, FlashErrc::kIo}) {
    const std::string sentence = Describe(code);
    EXPECT_EQ(sentence.find("unknown"), std::string::npos) << sentence;
    sentences.insert(sentence);
  }
  EXPECT_EQ(sentences.size(), 6u);
  EXPECT_STREQ(Describe(static_cast<FlashErrc>(200)), "unknown flash error");
}

TEST(FlashError, OpsAreNamed) {
  EXPECT_STREQ(Describe(FlashOp::kRead), "read");
  EXPECT_STREQ(Describe(FlashOp::kWrite), "write");
  EXPECT_STREQ(Describe(FlashOp::kErase), "erase");
}

}  // namespace
}  // namespace mqota::flash
