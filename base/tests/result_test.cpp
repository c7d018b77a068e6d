#include "mqota/base/result.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <utility>

namespace mqota {
namespace {

enum class Errc : uint8_t { kBad, kWorse };
struct Error {
  Errc code;
  int where;
};

Result<int, Error> Half(int x) {
  if (x % 2 != 0) return Error{Errc::kBad, x};
  return x / 2;
}

Result<void, Error> Check(bool good) {
  if (!good) return Error{Errc::kWorse, 0};
  return {};
}

TEST(Result, HoldsAValue) {
  Result<int, Error> r = Half(10);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 5);
  EXPECT_EQ(r.value(), 5);
  EXPECT_EQ(r.value_or(-1), 5);
}

TEST(Result, HoldsAnError) {
  Result<int, Error> r = Half(7);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::kBad);
  EXPECT_EQ(r.error().where, 7);
  EXPECT_EQ(r.value_or(-1), -1);
}

TEST(Result, VoidResultIsSuccessOrError) {
  EXPECT_TRUE(Check(true).ok());
  const Result<void, Error> bad = Check(false);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, Errc::kWorse);
}

TEST(Result, CarriesMoveOnlyValues) {
  Result<std::unique_ptr<int>, Error> r = std::make_unique<int>(42);
  ASSERT_TRUE(r.ok());
  Result<std::unique_ptr<int>, Error> moved = std::move(r);
  ASSERT_TRUE(moved.ok());
  EXPECT_EQ(**moved, 42);
  std::unique_ptr<int> taken = std::move(moved).value();
  EXPECT_EQ(*taken, 42);
}

TEST(Result, CopiesValuesAndErrors) {
  const Result<std::string, Error> value = std::string("firmware");
  const Result<std::string, Error> copy =
      value;  // NOLINT(performance-unnecessary-copy-initialization)
  EXPECT_EQ(*copy, "firmware");
  EXPECT_EQ(copy->size(), 8u);
  const Result<std::string, Error> error = Error{Errc::kWorse, 3};
  const Result<std::string, Error> error_copy =
      error;  // NOLINT(performance-unnecessary-copy-initialization)
  EXPECT_EQ(error_copy.error().where, 3);
}

struct Counted {
  explicit Counted(int* live) : live_(live) { ++*live_; }
  Counted(const Counted& other) : live_(other.live_) { ++*live_; }
  ~Counted() { --*live_; }
  int* live_;
};

TEST(Result, DestroysItsValueExactlyOnce) {
  int live = 0;
  {
    Result<Counted, Error> r = Counted(&live);
    EXPECT_EQ(live, 1);
    Result<Counted, Error> copy = r;
    EXPECT_EQ(live, 2);
    Result<Counted, Error> error = Error{Errc::kBad, 0};
    EXPECT_EQ(live, 2);
  }
  EXPECT_EQ(live, 0);
}

Result<int, Error> Quarter(int x) {
  MQOTA_TRY_ASSIGN(const int half, Half(x));
  MQOTA_TRY_ASSIGN(int quarter, Half(half));
  return quarter;
}

TEST(Result, TryAssignDeclaresTheValueOrReturnsTheError) {
  EXPECT_EQ(*Quarter(20), 5);
  const Result<int, Error> odd_half = Quarter(10);  // 10 -> 5, then 5 is odd
  ASSERT_FALSE(odd_half.ok());
  EXPECT_EQ(odd_half.error().where, 5);
  EXPECT_EQ(Quarter(3).error().where, 3);
}

Result<std::unique_ptr<int>, Error> Boxed(bool good) {
  if (!good) return Error{Errc::kWorse, 1};
  return std::make_unique<int>(7);
}

Result<int, Error> Unbox(bool good) {
  MQOTA_TRY_ASSIGN(std::unique_ptr<int> box, Boxed(good));  // moves, never copies
  return *box;
}

TEST(Result, TryAssignMovesMoveOnlyValues) {
  EXPECT_EQ(*Unbox(true), 7);
  EXPECT_EQ(Unbox(false).error().code, Errc::kWorse);
}

Result<void, Error> Steps(bool first, bool second, int* reached) {
  MQOTA_TRY(Check(first));
  *reached = 1;
  MQOTA_TRY(Check(second));
  *reached = 2;
  return {};
}

TEST(Result, TryReturnsTheFirstErrorAndStops) {
  int reached = 0;
  EXPECT_TRUE(Steps(true, true, &reached).ok());
  EXPECT_EQ(reached, 2);
  reached = 0;
  EXPECT_FALSE(Steps(true, false, &reached).ok());
  EXPECT_EQ(reached, 1);
  reached = 0;
  EXPECT_FALSE(Steps(false, true, &reached).ok());
  EXPECT_EQ(reached, 0);
}

Result<int, Error> TryIntoValueResult(bool good) {
  MQOTA_TRY(Check(good));  // a void result's error into a value result
  return 1;
}

TEST(Result, TryWorksAcrossResultTypesWithTheSameError) {
  EXPECT_EQ(*TryIntoValueResult(true), 1);
  EXPECT_EQ(TryIntoValueResult(false).error().code, Errc::kWorse);
}

TEST(Result, TryAssignTwiceInOneScope) {
  // The macro names its temporary after __LINE__; two uses on different lines
  // in one scope must compile and work (this test compiling is half the check).
  auto both = []() -> Result<int, Error> {
    MQOTA_TRY_ASSIGN(int a, Half(8));
    MQOTA_TRY_ASSIGN(int b, Half(4));
    return a + b;
  };
  EXPECT_EQ(*both(), 6);
}

constexpr int ConstexprUse() {
  Result<int, Error> r = 3;
  Result<void, Error> v;
  return v.ok() ? r.value_or(0) : -1;
}
static_assert(ConstexprUse() == 3, "Result works in constant expressions");

TEST(ResultDeathTest, ValueOfAnErrorTraps) {
  const Result<int, Error> r = Error{Errc::kBad, 0};
  EXPECT_DEATH({ (void)*r; }, "");
}

TEST(ResultDeathTest, ErrorOfAValueTraps) {
  const Result<int, Error> r = 1;
  EXPECT_DEATH({ (void)r.error(); }, "");
  const Result<void, Error> v;
  EXPECT_DEATH({ (void)v.error(); }, "");
}

}  // namespace
}  // namespace mqota
