#include "target_history.h"

namespace mqota::host::delta_match {

TargetHistory::TargetHistory(std::span<const uint8_t> target)
    : target_(target), head_(size_t{1} << kHashBits, -1), previous_(target.size(), -1) {}

uint32_t TargetHistory::Hash(size_t at) const {
  const uint32_t v = target_[at] | (uint32_t{target_[at + 1]} << 8) |
                     (uint32_t{target_[at + 2]} << 16) | (uint32_t{target_[at + 3]} << 24);
  return (v * 2654435761u) >> (32 - kHashBits);
}

void TargetHistory::InsertUpTo(size_t at) {
  for (; inserted_ < at && inserted_ + kPrefixBytes <= target_.size(); ++inserted_) {
    const uint32_t h = Hash(inserted_);
    previous_[inserted_] = head_[h];
    head_[h] = static_cast<int64_t>(inserted_);
  }
}

TargetMatch TargetHistory::Longest(size_t at, size_t end) {
  InsertUpTo(at);
  TargetMatch best;
  if (at + kPrefixBytes > end) return best;
  int64_t candidate = head_[Hash(at)];
  for (int tries = 0; candidate >= 0 && tries < kMaxCandidates; ++tries) {
    const auto from = static_cast<size_t>(candidate);
    size_t length = 0;
    // May run into bytes at or after `at`: the decoder copies byte by byte.
    while (at + length < end && target_[from + length] == target_[at + length]) ++length;
    if (length > best.length) best = {at - from, length};
    candidate = previous_[from];
  }
  return best;
}

}  // namespace mqota::host::delta_match
