// mqota::base on the target: Result, MQOTA_TRY, MQOTA_TRY_ASSIGN and the
// little-endian loads and stores (base/include/mqota/base/).
#include <array>
#include <cstdint>

#include "check.h"
#include "layers.h"
#include "mqota/base/endian.h"
#include "mqota/base/result.h"

namespace mqota::selftest {
namespace {

enum class Errc : uint8_t { kNone, kTooBig, kOdd };

Result<uint32_t, Errc> Half(uint32_t value) {
  if (value % 2 != 0) return Errc::kOdd;
  return value / 2;
}

Result<void, Errc> CheckSmall(uint32_t value) {
  if (value > 100) return Errc::kTooBig;
  return {};
}

// Uses both macros; each error must leave the function at its own step.
Result<uint32_t, Errc> QuarterOfSmall(uint32_t value) {
  MQOTA_TRY(CheckSmall(value));
  MQOTA_TRY_ASSIGN(uint32_t half, Half(value));
  MQOTA_TRY_ASSIGN(uint32_t quarter, Half(half));
  return quarter;
}

const char* ResultHoldsValue() {
  const Result<uint32_t, Errc> r = Half(Opaque(84u));
  MQOTA_EXPECT(r.ok());
  MQOTA_EXPECT(*r == 42);
  MQOTA_EXPECT(r.value() == 42);
  MQOTA_EXPECT(r.value_or(7) == 42);
  return nullptr;
}

const char* ResultHoldsError() {
  const Result<uint32_t, Errc> r = Half(Opaque(5u));
  MQOTA_EXPECT(!r.ok());
  MQOTA_EXPECT(r.error() == Errc::kOdd);
  MQOTA_EXPECT(r.value_or(7) == 7);
  return nullptr;
}

const char* ResultVoid() {
  MQOTA_EXPECT(CheckSmall(Opaque(3u)).ok());
  const Result<void, Errc> r = CheckSmall(Opaque(300u));
  MQOTA_EXPECT(!r.ok());
  MQOTA_EXPECT(r.error() == Errc::kTooBig);
  return nullptr;
}

const char* ResultCopiesAndMoves() {
  const Result<uint32_t, Errc> value = Half(Opaque(10u));
  const Result<uint32_t, Errc> value_copy(value);
  MQOTA_EXPECT(value_copy.ok() && *value_copy == 5);
  Result<uint32_t, Errc> error = Half(Opaque(11u));
  const Result<uint32_t, Errc> error_moved(static_cast<Result<uint32_t, Errc>&&>(error));
  MQOTA_EXPECT(!error_moved.ok() && error_moved.error() == Errc::kOdd);
  return nullptr;
}

const char* TryPropagates() {
  const Result<uint32_t, Errc> ok = QuarterOfSmall(Opaque(100u));
  MQOTA_EXPECT(ok.ok() && *ok == 25);
  const Result<uint32_t, Errc> too_big = QuarterOfSmall(Opaque(104u));
  MQOTA_EXPECT(!too_big.ok() && too_big.error() == Errc::kTooBig);
  const Result<uint32_t, Errc> odd = QuarterOfSmall(Opaque(7u));
  MQOTA_EXPECT(!odd.ok() && odd.error() == Errc::kOdd);
  const Result<uint32_t, Errc> odd_half = QuarterOfSmall(Opaque(6u));
  MQOTA_EXPECT(!odd_half.ok() && odd_half.error() == Errc::kOdd);
  return nullptr;
}

const char* LoadLe() {
  std::array<uint8_t, 7> bytes = {0xee, 0x01, 0x02, 0x03, 0x04, 0x05, 0xee};
  Clobber(bytes.data());
  MQOTA_EXPECT(LoadLe32(bytes, 1) == 0x04030201u);
  MQOTA_EXPECT(LoadLe32(bytes, 2) == 0x05040302u);  // unaligned on purpose
  MQOTA_EXPECT(LoadLe16(bytes, 1) == 0x0201u);
  MQOTA_EXPECT(LoadLe32(bytes, 3) == 0xee050403u);  // top byte: no sign extension
  return nullptr;
}

const char* StoreLe() {
  std::array<uint8_t, 8> bytes{};
  StoreLe32(bytes, Opaque<size_t>(3), Opaque(0x12345678u));
  StoreLe16(bytes, Opaque<size_t>(0), Opaque<uint16_t>(0xbeef));
  Clobber(bytes.data());
  MQOTA_EXPECT(bytes[0] == 0xef && bytes[1] == 0xbe && bytes[2] == 0x00);
  MQOTA_EXPECT(bytes[3] == 0x78 && bytes[4] == 0x56 && bytes[5] == 0x34 && bytes[6] == 0x12);
  MQOTA_EXPECT(bytes[7] == 0x00);
  MQOTA_EXPECT(LoadLe32(bytes, 3) == 0x12345678u);
  return nullptr;
}

constexpr Check kChecks[] = {
    {"result_holds_value", ResultHoldsValue},
    {"result_holds_error", ResultHoldsError},
    {"result_void", ResultVoid},
    {"result_copies_and_moves", ResultCopiesAndMoves},
    {"try_propagates", TryPropagates},
    {"load_le", LoadLe},
    {"store_le", StoreLe},
};

}  // namespace

Layer BaseChecks() { return {"base", kChecks}; }

}  // namespace mqota::selftest
