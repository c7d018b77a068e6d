#include "delta_match.h"

#include <algorithm>
#include <cstring>

namespace mqota::host::delta_match {
namespace {

// An exact match is only worth a new alignment when the current one (the
// previous offset) explains clearly fewer of its bytes.
constexpr int64_t kSwitchMargin = 8;

class Aligner {
 public:
  Aligner(std::span<const uint8_t> source, std::span<const uint8_t> target,
          const SuffixIndex& index)
      : s_(source), t_(target), index_(index) {}

  std::vector<Piece> Run() {
    size_t scan = 0;
    size_t match_length = 0;
    size_t match_pos = 0;
    while (scan < t_.size()) {
      scan += match_length;
      size_t scored_to = scan;
      int64_t agree = 0;  // bytes of [scan, scored_to) the previous offset explains
      for (; scan < t_.size(); ++scan) {
        const Match m = index_.Longest(t_.subspan(scan));
        match_pos = m.source_pos;
        match_length = m.length;
        for (; scored_to < scan + match_length; ++scored_to) agree += AgreesAtOffset(scored_to);
        const auto length = static_cast<int64_t>(match_length);
        if ((length == agree && length != 0) || length > agree + kSwitchMargin) break;
        agree -= AgreesAtOffset(scan);
      }
      if (static_cast<int64_t>(match_length) != agree || scan == t_.size()) {
        Close(scan, match_pos);
      }
    }
    return std::move(pieces_);
  }

 private:
  int64_t AgreesAtOffset(size_t target_pos) const {
    const int64_t s = static_cast<int64_t>(target_pos) + last_offset_;
    return s >= 0 && s < static_cast<int64_t>(s_.size()) && s_[s] == t_[target_pos] ? 1 : 0;
  }

  // Ends the current alignment before the new match at `scan` (source `pos`):
  // extends the old alignment forwards and the new one backwards, each as far
  // as it pays (matches count twice, mismatches once against), splits any
  // overlap where the sum is best, and records the pieces.
  void Close(size_t scan, size_t pos) {
    size_t forward = 0;
    {
      int64_t score = 0;
      int64_t best = 0;
      for (size_t i = 0; last_scan_ + i < scan && last_pos_ + i < s_.size();) {
        if (s_[last_pos_ + i] == t_[last_scan_ + i]) ++score;
        ++i;
        if (score * 2 - static_cast<int64_t>(i) > best * 2 - static_cast<int64_t>(forward)) {
          best = score;
          forward = i;
        }
      }
    }
    size_t backward = 0;
    if (scan < t_.size()) {
      int64_t score = 0;
      int64_t best = 0;
      for (size_t i = 1; scan >= last_scan_ + i && pos >= i; ++i) {
        if (s_[pos - i] == t_[scan - i]) ++score;
        if (score * 2 - static_cast<int64_t>(i) > best * 2 - static_cast<int64_t>(backward)) {
          best = score;
          backward = i;
        }
      }
    }
    if (last_scan_ + forward > scan - backward) {
      const size_t overlap = last_scan_ + forward - (scan - backward);
      int64_t score = 0;
      int64_t best = 0;
      size_t split = 0;
      for (size_t i = 0; i < overlap; ++i) {
        const size_t t = last_scan_ + forward - overlap + i;
        if (t_[t] == s_[last_pos_ + forward - overlap + i]) ++score;
        if (t_[t] == s_[pos - backward + i]) --score;
        if (score > best) {
          best = score;
          split = i + 1;
        }
      }
      forward = forward - overlap + split;
      backward -= split;
    }
    if (forward > 0) {
      pieces_.push_back({static_cast<uint32_t>(last_scan_), static_cast<uint32_t>(forward), true,
                         static_cast<uint32_t>(last_pos_)});
    }
    const size_t literal_start = last_scan_ + forward;
    const size_t literal_end = scan - backward;
    if (literal_end > literal_start) {
      pieces_.push_back({static_cast<uint32_t>(literal_start),
                         static_cast<uint32_t>(literal_end - literal_start), false, 0});
    }
    last_scan_ = scan - backward;
    last_pos_ = pos - backward;
    last_offset_ = static_cast<int64_t>(pos) - static_cast<int64_t>(scan);
  }

  std::span<const uint8_t> s_;
  std::span<const uint8_t> t_;
  const SuffixIndex& index_;
  std::vector<Piece> pieces_;
  size_t last_scan_ = 0;
  size_t last_pos_ = 0;
  int64_t last_offset_ = 0;
};

}  // namespace

std::vector<Piece> Align(std::span<const uint8_t> source, std::span<const uint8_t> target,
                         const SuffixIndex& index) {
  if (source.empty()) return {{0, static_cast<uint32_t>(target.size()), false, 0}};
  return Aligner(source, target, index).Run();
}

}  // namespace mqota::host::delta_match
