#include "mqota/boot/trailer_match.h"

namespace mqota::boot {

bool Matches(Want want, MagicState magic) {
  switch (want) {
    case Want::kAny: return true;
    case Want::kUnset: return magic == MagicState::kUnset;
    case Want::kGood: return magic == MagicState::kGood;
    case Want::kNotUnset: return magic != MagicState::kUnset;
    case Want::kNotGood: return magic != MagicState::kGood;
    case Want::kNotBad: return magic != MagicState::kBad;
    case Want::kSet:
    case Want::kNotSet: return false;
  }
  return false;
}

bool Matches(Want want, FlagState flag) {
  switch (want) {
    case Want::kAny: return true;
    case Want::kUnset: return flag == FlagState::kUnset;
    case Want::kSet: return flag == FlagState::kSet;
    case Want::kNotUnset: return flag != FlagState::kUnset;
    case Want::kNotSet: return flag != FlagState::kSet;
    case Want::kNotBad: return flag != FlagState::kBad;
    case Want::kGood:
    case Want::kNotGood: return false;
  }
  return false;
}

const char* Describe(Want want) {
  switch (want) {
    case Want::kAny: return "any";
    case Want::kUnset: return "UNSET";
    case Want::kSet: return "SET";
    case Want::kGood: return "GOOD";
    case Want::kNotUnset: return "not UNSET";
    case Want::kNotSet: return "not SET";
    case Want::kNotGood: return "not GOOD";
    case Want::kNotBad: return "not BAD";
  }
  return "?";
}

}  // namespace mqota::boot
