// The self-test's check runner, as small as a runner can be: a check is a
// function that returns nullptr when it passes, or a sentence saying why it
// failed. Checks are grouped by layer, one file per layer
// (base_checks.cpp, flash_checks.cpp, ...), each exporting one function that
// returns its table (declared in layers.h, listed in main.cpp).
#pragma once

#include <span>

namespace mqota::selftest {

// nullptr: passed. Otherwise a static string: why it failed.
using CheckFn = const char* (*)();

struct Check {
  const char* name;  // printed as "<layer>.<name>"
  CheckFn run;
};

struct Layer {
  const char* name;
  std::span<const Check> checks;
};

// Hides a value from the optimiser, so a check computes at run time, on the
// target, instead of being folded away at compile time.
template <typename T>
T Opaque(T value) {
  asm volatile("" : "+r"(value));
  return value;
}

// Makes the optimiser forget what it knows about the memory at `p`.
inline void Clobber(const void* p) { asm volatile("" : : "r"(p) : "memory"); }

}  // namespace mqota::selftest

#define MQOTA_SELFTEST_STR_(x) #x
#define MQOTA_SELFTEST_STR(x) MQOTA_SELFTEST_STR_(x)

// "<file>:<line>: ", the start of every failure sentence: a string literal, so
// a check's own text can follow it directly (MQOTA_SELFTEST_WHERE "x == y").
// Inside another macro, __LINE__ is the line that macro was used on.
#define MQOTA_SELFTEST_WHERE __FILE_NAME__ ":" MQOTA_SELFTEST_STR(__LINE__) ": "

// Inside a check: fails it with "<file>:<line>: <condition>" when false.
#define MQOTA_EXPECT(condition)                               \
  do {                                                        \
    if (!(condition)) return MQOTA_SELFTEST_WHERE #condition; \
  } while (false)
