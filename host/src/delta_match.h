// How the encoder lines the target up against the source: a list of pieces
// covering the target in order, each either "aligned" (target byte i is
// source byte i + offset plus a small difference, usually zero) or "literal".
// The search is bsdiff's idea (Percival, "Naive differences of executable
// code"): exact matches found through a suffix array, then extended forwards
// and backwards while at least half the bytes agree, so code that moved by a
// few bytes, with its pointers shifted, stays one aligned piece.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "suffix_index.h"

namespace mqota::host::delta_match {

struct Piece {
  uint32_t target_start = 0;
  uint32_t length = 0;
  bool aligned = false;
  uint32_t source_start = 0;  // aligned pieces only
};

// `index` is the suffix index of `source`.
std::vector<Piece> Align(std::span<const uint8_t> source, std::span<const uint8_t> target,
                         const SuffixIndex& index);

}  // namespace mqota::host::delta_match
