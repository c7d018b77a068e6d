// Both CRC-32C variants give the standard check value and agree with each
// other on every length and on continued computations.
#include "mqota/base/crc32c.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace mqota {
namespace {

constexpr std::string_view kCheckInput = "123456789";
constexpr uint32_t kCheckValue = 0xe3069283u;  // CRC-32C catalogue check value

std::span<const uint8_t> Bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

TEST(Crc32c, BothVariantsGiveTheCatalogueCheckValue) {
  EXPECT_EQ(Crc32c(Bytes(kCheckInput)), kCheckValue);
  EXPECT_EQ(Crc32cTableDriven(Bytes(kCheckInput)), kCheckValue);
}

TEST(Crc32c, IsUsableAtCompileTime) {
  constexpr std::array<uint8_t, 3> kBytes{1, 2, 3};
  static_assert(Crc32c(kBytes) == Crc32cTableDriven(kBytes));
}

TEST(Crc32c, VariantsAgreeOnEveryLengthAndWhenContinued) {
  std::vector<uint8_t> data(600);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i * 131 + 7);
  for (size_t n = 0; n <= data.size(); n += 37) {
    const std::span<const uint8_t> all(data.data(), n);
    ASSERT_EQ(Crc32c(all), Crc32cTableDriven(all)) << n;
    const size_t half = n / 2;
    EXPECT_EQ(Crc32cTableDriven(all.subspan(half), Crc32cTableDriven(all.first(half))), Crc32c(all))
        << n;
  }
}

}  // namespace
}  // namespace mqota
