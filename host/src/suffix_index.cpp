#include "suffix_index.h"

#include <divsufsort.h>

#include <algorithm>
#include <cstring>

#include "mqota/host/command_error.h"

namespace mqota::host::delta_match {

static_assert(sizeof(saidx_t) == sizeof(int32_t), "libdivsufsort's 32-bit index");

SuffixIndex::SuffixIndex(std::span<const uint8_t> source) : source_(source), sa_(source.size()) {
  if (!source.empty() &&
      divsufsort(source.data(), sa_.data(), static_cast<saidx_t>(source.size())) != 0) {
    throw CommandError(kExitUsage, "suffix sorting of the source image failed");
  }
}

Match SuffixIndex::Longest(std::span<const uint8_t> needle) const {
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

int SuffixIndex::Compare(size_t pos, std::span<const uint8_t> needle) const {
  const size_t n = std::min(source_.size() - pos, needle.size());
  const int c = std::memcmp(source_.data() + pos, needle.data(), n);
  if (c != 0) return c;
  return source_.size() - pos < needle.size() ? -1 : 0;
}

size_t SuffixIndex::Common(size_t pos, std::span<const uint8_t> needle) const {
  const size_t n = std::min(source_.size() - pos, needle.size());
  size_t i = 0;
  while (i < n && source_[pos + i] == needle[i]) ++i;
  return i;
}

}  // namespace mqota::host::delta_match
