// Exact matches of any string in the source image: a suffix array of the
// source (Debian's libdivsufsort) and a binary search over it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace mqota::host::delta_match {

struct Match {
  size_t source_pos = 0;
  size_t length = 0;
};

class SuffixIndex {
 public:
  // Throws CommandError when the suffix sorting fails. `source` must outlive
  // the index.
  explicit SuffixIndex(std::span<const uint8_t> source);

  // The longest prefix of `needle` found anywhere in the source.
  Match Longest(std::span<const uint8_t> needle) const;

 private:
  int Compare(size_t pos, std::span<const uint8_t> needle) const;
  size_t Common(size_t pos, std::span<const uint8_t> needle) const;

  std::span<const uint8_t> source_;
  std::vector<int32_t> sa_;
};

}  // namespace mqota::host::delta_match
