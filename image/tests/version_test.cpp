#include "mqota/image/version.h"

#include <gtest/gtest.h>

#include <array>

namespace mqota::image {
namespace {

TEST(ImageVersion, ParsesImgtoolSyntaxWithOptionalParts) {
  EXPECT_EQ(ParseVersion("1"), (ImageVersion{1, 0, 0, 0}));
  EXPECT_EQ(ParseVersion("1.2"), (ImageVersion{1, 2, 0, 0}));
  EXPECT_EQ(ParseVersion("1.2.3"), (ImageVersion{1, 2, 3, 0}));
  EXPECT_EQ(ParseVersion("1.2.3+4"), (ImageVersion{1, 2, 3, 4}));
  EXPECT_EQ(ParseVersion("255.255.65535+4294967295"), (ImageVersion{255, 255, 65535, 4294967295u}));
  EXPECT_EQ(ParseVersion("0.0.0+0"), (ImageVersion{}));
}

TEST(ImageVersion, RejectsMalformedAndOutOfRange) {
  for (const char* bad :
       {"", "01", "1.02", "1.2.03", "1.2.3+04", "1.", "1..2", "1.2+3", "a", "1.2.3.4", "-1", " 1",
        "1 ", "256", "1.256", "1.2.65536", "1.2.3+4294967296", "1.2.3+"}) {
    EXPECT_FALSE(ParseVersion(bad).has_value()) << bad;
  }
}

TEST(ImageVersion, ComparesMajorMinorRevisionAndBuildOnlyOnRequest) {
  EXPECT_LT(CompareVersions({1, 0, 0, 0}, {1, 1, 0, 0}), 0);
  EXPECT_GT(CompareVersions({2, 0, 0, 0}, {1, 255, 65535, 0}), 0);
  EXPECT_LT(CompareVersions({1, 1, 1, 0}, {1, 1, 2, 0}), 0);
  EXPECT_EQ(CompareVersions({1, 1, 0, 1}, {1, 1, 0, 9}), 0);
  EXPECT_LT(CompareVersions({1, 1, 0, 1}, {1, 1, 0, 9}, /*include_build=*/true), 0);
}

TEST(ImageVersion, FormatsAllFields) {
  std::array<char, kVersionTextBytes> text{};
  EXPECT_EQ(FormatVersion({1, 2, 3, 4}, text), 7u);
  EXPECT_STREQ(text.data(), "1.2.3+4");
  FormatVersion({255, 255, 65535, 4294967295u}, text);
  EXPECT_STREQ(text.data(), "255.255.65535+4294967295");
}

}  // namespace
}  // namespace mqota::image
