// One cell of a decision table over trailer states: what a magic or a flag
// must read for a row to match. Both of boot's tables are built from it, the
// swap-type table (swap_type.h) and swap-scratch's status-source table
// (swap_scratch_status.h), so they read and print the same way.
#pragma once

#include <cstdint>

#include "mqota/boot/trailer.h"

namespace mqota::boot {

// kGood and kNotGood are for a magic, kSet and kNotSet for a flag; used on
// the other kind of field they never match. The others fit both.
enum class Want : uint8_t { kAny, kUnset, kSet, kGood, kNotUnset, kNotSet, kNotGood, kNotBad };

bool Matches(Want want, MagicState magic);
bool Matches(Want want, FlagState flag);

// As the tables print it: "any", "UNSET", "SET", "GOOD", "not UNSET", ...
const char* Describe(Want want);

}  // namespace mqota::boot
