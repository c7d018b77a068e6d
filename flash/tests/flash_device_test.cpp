// FlashDevice's argument checks, over every write alignment and both erased
// values: a refused call must never reach the implementation.
#include "mqota/flash/flash_device.h"

#include <gtest/gtest.h>

#include <tuple>
#include <vector>

#include "mqota/testing/test_flash.h"

namespace mqota::flash {
namespace {

// Records what reached the implementation and what the checks refused.
class RecordingFlash final : public FlashDevice {
 public:
  explicit RecordingFlash(const FlashGeometry& geometry) : FlashDevice(geometry) {}
  int calls = 0;
  int refusals = 0;

 private:
  FlashStatus DoRead(uint32_t, std::span<uint8_t>) override { return Call(); }
  FlashStatus DoWrite(uint32_t, std::span<const uint8_t>) override { return Call(); }
  FlashStatus DoErase(uint32_t, uint32_t) override { return Call(); }
  void OnRefused(const FlashError&) override { ++refusals; }
  FlashStatus Call() {
    ++calls;
    return {};
  }
};

void ExpectError(const FlashStatus& status, FlashErrc code, FlashOp op, uint32_t offset) {
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, code) << Describe(status.error().code);
  EXPECT_EQ(status.error().op, op);
  EXPECT_EQ(status.error().offset, offset);
}

class FlashDeviceChecks : public ::testing::TestWithParam<std::tuple<uint32_t, uint8_t>> {
 protected:
  uint32_t w() const { return std::get<0>(GetParam()); }
  FlashGeometry geometry() const { return testing::Mixed(w(), std::get<1>(GetParam())); }
};

TEST_P(FlashDeviceChecks, RefusesReadsOutsideTheDevice) {
  RecordingFlash dev(geometry());
  std::vector<uint8_t> buf(2);
  const uint32_t size = dev.size_bytes();
  ExpectError(dev.Read(size - 1, buf), FlashErrc::kOutOfBounds, FlashOp::kRead, size - 1);
  ExpectError(dev.Read(size, buf), FlashErrc::kOutOfBounds, FlashOp::kRead, size);
  ExpectError(dev.Read(0xFFFFFFFFu, buf), FlashErrc::kOutOfBounds, FlashOp::kRead, 0xFFFFFFFFu);
  std::vector<uint8_t> too_big(size + 1);
  ExpectError(dev.Read(0, too_big), FlashErrc::kOutOfBounds, FlashOp::kRead, 0);
  EXPECT_EQ(dev.calls, 0);
  EXPECT_EQ(dev.refusals, 4);
  EXPECT_TRUE(dev.Read(size - 2, buf).ok());
  EXPECT_EQ(dev.calls, 1);
}

TEST_P(FlashDeviceChecks, RefusesWritesOutsideTheDevice) {
  RecordingFlash dev(geometry());
  std::vector<uint8_t> data(w());
  const uint32_t size = dev.size_bytes();
  ExpectError(dev.Write(size, data), FlashErrc::kOutOfBounds, FlashOp::kWrite, size);
  // offset + length would wrap around 32 bits.
  const uint32_t near_top = 0xFFFFFFFFu - w() + 1;
  ExpectError(dev.Write(near_top, data), FlashErrc::kOutOfBounds, FlashOp::kWrite, near_top);
  EXPECT_EQ(dev.calls, 0);
  EXPECT_TRUE(dev.Write(size - w(), data).ok());
  EXPECT_EQ(dev.calls, 1);
}

TEST_P(FlashDeviceChecks, RefusesMisalignedWrites) {
  RecordingFlash dev(geometry());
  std::vector<uint8_t> aligned(w());
  if (w() > 1) {
    ExpectError(dev.Write(1, aligned), FlashErrc::kMisaligned, FlashOp::kWrite, 1);
    ExpectError(dev.Write(w() / 2, aligned), FlashErrc::kMisaligned, FlashOp::kWrite, w() / 2);
    std::vector<uint8_t> short_data(w() - 1);
    ExpectError(dev.Write(0, short_data), FlashErrc::kMisaligned, FlashOp::kWrite, 0);
    std::vector<uint8_t> long_data(w() + 1);
    ExpectError(dev.Write(w(), long_data), FlashErrc::kMisaligned, FlashOp::kWrite, w());
    EXPECT_EQ(dev.calls, 0);
    EXPECT_EQ(dev.refusals, 4);
  }
  std::vector<uint8_t> two_units(2 * w());
  EXPECT_TRUE(dev.Write(3 * w(), two_units).ok());
  EXPECT_EQ(dev.calls, 1);
}

TEST_P(FlashDeviceChecks, RefusesErasesNotOnSectorBoundaries) {
  RecordingFlash dev(geometry());
  ExpectError(dev.Erase(0, 32), FlashErrc::kNotSectorAligned, FlashOp::kErase, 0);
  ExpectError(dev.Erase(32, 64), FlashErrc::kNotSectorAligned, FlashOp::kErase, 32);
  ExpectError(dev.Erase(256, 64), FlashErrc::kNotSectorAligned, FlashOp::kErase, 256);
  ExpectError(dev.Erase(1024, 1024), FlashErrc::kOutOfBounds, FlashOp::kErase, 1024);
  ExpectError(dev.Erase(0xFFFFFE00u, 0x400), FlashErrc::kOutOfBounds, FlashOp::kErase, 0xFFFFFE00u);
  EXPECT_EQ(dev.calls, 0);
  EXPECT_EQ(dev.refusals, 5);
  EXPECT_TRUE(dev.Erase(192, 64 + 256).ok());  // spans two sector sizes
  EXPECT_TRUE(dev.Erase(0, dev.size_bytes()).ok());
  EXPECT_EQ(dev.calls, 2);
}

TEST_P(FlashDeviceChecks, ZeroLengthCallsSucceedWithoutReachingTheDevice) {
  RecordingFlash dev(geometry());
  EXPECT_TRUE(dev.Read(5, {}).ok());
  EXPECT_TRUE(dev.Write(1, {}).ok());  // not aligned, but there is nothing to write
  EXPECT_TRUE(dev.Erase(3, 0).ok());
  EXPECT_TRUE(dev.Read(dev.size_bytes(), {}).ok());
  EXPECT_EQ(dev.calls, 0);
  ExpectError(dev.Read(dev.size_bytes() + 1, {}), FlashErrc::kOutOfBounds, FlashOp::kRead,
              dev.size_bytes() + 1);
}

TEST_P(FlashDeviceChecks, RamFlashReadsBackWhatWasWritten) {
  testing::OwnedRamFlash ram(geometry());
  RamFlash& dev = ram.device();
  const uint8_t erased = geometry().erased_value;
  for (uint8_t b : ram.contents()) ASSERT_EQ(b, erased);
  const std::vector<uint8_t> data = testing::Pattern(4 * w());
  ASSERT_TRUE(dev.Write(8 * w(), data).ok());
  std::vector<uint8_t> out(data.size());
  ASSERT_TRUE(dev.Read(8 * w(), out).ok());
  EXPECT_EQ(out, data);
  EXPECT_EQ(ram.contents()[8 * w() - 1], erased);
  EXPECT_EQ(ram.contents()[12 * w()], erased);
  // RAM semantics: an overwrite is fine.
  const std::vector<uint8_t> other = testing::Pattern(4 * w(), 99);
  ASSERT_TRUE(dev.Write(8 * w(), other).ok());
  ASSERT_TRUE(dev.Read(8 * w(), out).ok());
  EXPECT_EQ(out, other);
  ASSERT_TRUE(dev.Erase(0, 64).ok());
  for (uint32_t i = 0; i < 64; ++i) EXPECT_EQ(ram.contents()[i], erased) << i;
}

INSTANTIATE_TEST_SUITE_P(
    Geometries, FlashDeviceChecks,
    ::testing::Combine(::testing::Values(1u, 2u, 4u, 8u, 16u, 32u),
                       ::testing::Values(uint8_t{0xFF}, uint8_t{0x00})),
    [](const ::testing::TestParamInfo<FlashDeviceChecks::ParamType>& param_info) {
      return testing::GeometryName(std::get<0>(param_info.param), std::get<1>(param_info.param));
    });

TEST(FlashDevice, InvalidGeometryGivesAnEmptyDevice) {
  const FlashGeometry bad{testing::kUniformRuns, 3, 0xFF};
  RecordingFlash dev(bad);
  EXPECT_EQ(dev.size_bytes(), 0u);
  std::vector<uint8_t> buf(1);
  ExpectError(dev.Read(0, buf), FlashErrc::kOutOfBounds, FlashOp::kRead, 0);
  ExpectError(dev.Write(0, buf), FlashErrc::kOutOfBounds, FlashOp::kWrite, 0);
  ExpectError(dev.Erase(0, 256), FlashErrc::kOutOfBounds, FlashOp::kErase, 0);
  EXPECT_EQ(dev.calls, 0);
}

}  // namespace
}  // namespace mqota::flash
