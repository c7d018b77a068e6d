#include "delta_match.h"

#include <divsufsort.h>

#include <algorithm>
#include <cstring>

#include "mqota/host/command_error.h"

namespace mqota::host::delta_match {
namespace {

struct Match {
  size_t source_pos = 0;
  size_t length = 0;
};

class SuffixIndex {
 public:
  explicit SuffixIndex(std::span<const uint8_t> source) : source_(source), sa_(source.size()) {
    if (!source.empty() &&
        divsufsort(source.data(), sa_.data(), static_cast<saidx_t>(source.size())) != 0) {
      throw CommandError(kExitUsage, "suffix sorting of the source image failed");
    }
  }

  // The longest prefix of `needle` found anywhere in the source.
  Match Longest(std::span<const uint8_t> needle) const {
    if (sa_.empty() || needle.empty()) return {};
    // Binary search for where `needle` would sort; the longest common prefix
    // is with one of the two suffixes around that place.
    size_t lo = 0;
    size_t hi = sa_.size();
    while (hi - lo > 1) {
      const size_t mid = lo + (hi - lo) / 2;
      if (Compare(static_cast<size_t>(sa_[mid]), needle) < 0) {
        lo = mid;
      } else {
        hi = mid;
      }
    }
    Match best{static_cast<size_t>(sa_[lo]), Common(static_cast<size_t>(sa_[lo]), needle)};
    if (hi < sa_.size()) {
      const size_t other = Common(static_cast<size_t>(sa_[hi]), needle);
      if (other > best.length) best = {static_cast<size_t>(sa_[hi]), other};
    }
    return best;
  }

 private:
  int Compare(size_t pos, std::span<const uint8_t> needle) const {
    const size_t n = std::min(source_.size() - pos, needle.size());
    const int c = std::memcmp(source_.data() + pos, needle.data(), n);
    if (c != 0) return c;
    return source_.size() - pos < needle.size() ? -1 : 0;
  }
  size_t Common(size_t pos, std::span<const uint8_t> needle) const {
    const size_t n = std::min(source_.size() - pos, needle.size());
    size_t i = 0;
    while (i < n && source_[pos + i] == needle[i]) ++i;
    return i;
  }

  std::span<const uint8_t> source_;
  std::vector<saidx_t> sa_;
};

// An exact match is only worth a new alignment when the current one (the
// previous offset) explains clearly fewer of its bytes.
constexpr int64_t kSwitchMargin = 8;

class Aligner {
 public:
  Aligner(std::span<const uint8_t> source, std::span<const uint8_t> target)
      : s_(source), t_(target), index_(source) {}

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
  SuffixIndex index_;
  std::vector<Piece> pieces_;
  size_t last_scan_ = 0;
  size_t last_pos_ = 0;
  int64_t last_offset_ = 0;
};

}  // namespace

std::vector<Piece> Align(std::span<const uint8_t> source, std::span<const uint8_t> target) {
  if (source.empty()) return {{0, static_cast<uint32_t>(target.size()), false, 0}};
  return Aligner(source, target).Run();
}

}  // namespace mqota::host::delta_match
