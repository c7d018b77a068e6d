// Matches of target bytes in the target's own earlier bytes, for bytes the
// source does not explain (new code repeats its own prologues, epilogues and
// call sequences): hash chains over 4-byte prefixes, filled as the encoder
// moves forward, so only bytes before the current one are ever found.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace mqota::host::delta_match {

struct TargetMatch {
  size_t distance = 0;  // how far back; 0 when nothing matched
  size_t length = 0;
};

class TargetHistory {
 public:
  explicit TargetHistory(std::span<const uint8_t> target);

  // The longest match of target[at, end) starting before `at`, looking at
  // the `kMaxCandidates` most recent positions with the same prefix.
  TargetMatch Longest(size_t at, size_t end);

 private:
  static constexpr size_t kHashBits = 16;
  static constexpr int kMaxCandidates = 64;
  static constexpr size_t kPrefixBytes = 4;

  void InsertUpTo(size_t at);
  uint32_t Hash(size_t at) const;

  std::span<const uint8_t> target_;
  std::vector<int64_t> head_;
  std::vector<int64_t> previous_;
  size_t inserted_ = 0;
};

}  // namespace mqota::host::delta_match
