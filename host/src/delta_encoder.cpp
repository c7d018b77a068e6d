// Turns the aligner's pieces into the patch format: one body of commands per
// block, each block on its own (the source cursor restarts at the block's
// offset), so the device can resume at any block.
#include "mqota/host/delta_encoder.h"

#include <algorithm>
#include <array>

#include "delta_match.h"
#include "mqota/base/crc32c.h"
#include "mqota/base/endian.h"
#include "mqota/host/command_error.h"
#include "mqota/ports/openssl/openssl_crypto.h"
#include "range_encoder.h"
#include "target_history.h"

namespace mqota::host {
namespace {

using delta::BodyContext;
using delta::CommandKind;

// A body byte and the model it is coded with (delta/range_decoder.h).
struct Symbol {
  BodyContext context;
  uint8_t byte;
};
using Body = std::vector<Symbol>;

// A zero gap shorter than this inside changed bytes is cheaper sent as data
// than as a new run pair (two varints).
constexpr size_t kMinZeroGap = 3;

void PutVarint(std::vector<uint8_t>& out, uint32_t value) {
  std::array<uint8_t, delta::kMaxVarintBytes> bytes{};
  const size_t n = delta::EncodeVarint(value, bytes);
  out.insert(out.end(), bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(n));
}

void PutVarint(Body& out, uint32_t value, BodyContext first) {
  std::array<uint8_t, delta::kMaxVarintBytes> bytes{};
  const size_t n = delta::EncodeVarint(value, bytes);
  for (size_t i = 0; i < n; ++i)
    out.push_back({i == 0 ? first : BodyContext::kVarintMore, bytes[i]});
}

void PutTag(Body& out, CommandKind kind, size_t length) {
  PutVarint(out, static_cast<uint32_t>(length << delta::kKindBits) | static_cast<uint32_t>(kind),
            BodyContext::kTag);
}

// The body as sent: stored, or range coded when that is shorter (a block of
// a few commands costs less stored than the coder's 5 bytes of start and end).
// Bit 0 of the framed length says which.
void PutBlock(std::vector<uint8_t>& patch, const Body& body, uint32_t target_crc) {
  RangeEncoder coder;
  for (const Symbol& s : body) coder.EncodeByte(s.context, s.byte);
  const auto coded = coder.Finish();
  const bool use_coded = coded.size() < body.size();
  const size_t length = use_coded ? coded.size() : body.size();
  PutVarint(patch, static_cast<uint32_t>(length << 1) | (use_coded ? 1u : 0u));
  std::array<uint8_t, delta::kBlockCrcBytes> crc{};
  StoreLe32(crc, 0, target_crc);
  patch.insert(patch.end(), crc.begin(), crc.end());
  if (use_coded) {
    patch.insert(patch.end(), coded.begin(), coded.end());
  } else {
    for (const Symbol& s : body) patch.push_back(s.byte);
  }
}

// The difference bytes as (zero run, changed count, changed bytes) pairs.
void PutRuns(Body& out, std::span<const uint8_t> diff) {
  size_t i = 0;
  while (i < diff.size()) {
    size_t zeros = 0;
    while (i + zeros < diff.size() && diff[i + zeros] == 0) ++zeros;
    const size_t start = i + zeros;
    size_t end = start;
    while (end < diff.size()) {
      if (diff[end] != 0) {
        ++end;
        continue;
      }
      size_t gap = 0;
      while (end + gap < diff.size() && diff[end + gap] == 0) ++gap;
      if (gap >= kMinZeroGap || end + gap == diff.size()) break;
      end += gap;
    }
    PutVarint(out, static_cast<uint32_t>(zeros), BodyContext::kZeroRun);
    PutVarint(out, static_cast<uint32_t>(end - start), BodyContext::kCount);
    for (size_t k = start; k < end; ++k) {
      out.push_back({k == start ? BodyContext::kDiffFirst : BodyContext::kDiffNext, diff[k]});
    }
    i = end;
  }
}

// Shorter matches cost more as a command (tag and offset) than as literal
// bytes, which the coder squeezes to about 6 bits each.
constexpr size_t kMinSourceMatch = 8;
constexpr size_t kMinTargetMatch = 6;

class BlockEncoder {
 public:
  BlockEncoder(std::span<const uint8_t> source, std::span<const uint8_t> target,
               const delta_match::SuffixIndex& index)
      : source_(source), target_(target), index_(index), history_(target) {}

  const Body& Encode(uint32_t start, uint32_t end, std::span<const delta_match::Piece> pieces) {
    body_.clear();
    cursor_ = std::min<int64_t>(start, static_cast<int64_t>(source_.size()));
    for (const auto& piece : pieces) {
      const uint32_t from = std::max(piece.target_start, start);
      const uint32_t to = std::min(piece.target_start + piece.length, end);
      if (from >= to) continue;
      if (piece.aligned) {
        Aligned(from, to - from, piece.source_start + (from - piece.target_start));
      } else {
        Unaligned(from, to);
      }
    }
    return body_;
  }

 private:
  void Aligned(uint32_t target_start, uint32_t length, uint32_t source_start) {
    diff_.resize(length);
    bool changed = false;
    for (uint32_t i = 0; i < length; ++i) {
      diff_[i] = static_cast<uint8_t>(target_[target_start + i] - source_[source_start + i]);
      changed = changed || diff_[i] != 0;
    }
    PutTag(body_, changed ? CommandKind::kAdd : CommandKind::kCopy, length);
    const int64_t delta = static_cast<int64_t>(source_start) - cursor_;
    PutVarint(body_, delta::ZigZag(static_cast<int32_t>(delta)), BodyContext::kDelta);
    if (changed) PutRuns(body_, diff_);
    cursor_ = int64_t{source_start} + length;
  }

  // Bytes the alignment left unexplained: exact matches elsewhere in the
  // source or earlier in the target where they are long enough to pay,
  // literal bytes between them (a greedy parse).
  void Unaligned(uint32_t from, uint32_t to) {
    uint32_t literal_start = from;
    const auto flush_literal = [&](uint32_t end) {
      if (end == literal_start) return;
      PutTag(body_, CommandKind::kLiteral, end - literal_start);
      for (uint32_t i = literal_start; i < end; ++i)
        body_.push_back({BodyContext::kLiteral, target_[i]});
    };
    for (uint32_t at = from; at < to;) {
      const auto in_source = index_.Longest(target_.subspan(at, to - at));
      const auto in_target = history_.Longest(at, to);
      const bool source_pays = in_source.length >= kMinSourceMatch;
      const bool target_pays = in_target.length >= kMinTargetMatch;
      if (!source_pays && !target_pays) {
        ++at;
        continue;
      }
      flush_literal(at);
      if (target_pays && (!source_pays || in_target.length >= in_source.length)) {
        PutTag(body_, CommandKind::kTargetCopy, in_target.length);
        PutVarint(body_, static_cast<uint32_t>(in_target.distance), BodyContext::kDelta);
        at += static_cast<uint32_t>(in_target.length);
      } else {
        PutTag(body_, CommandKind::kCopy, in_source.length);
        const int64_t delta = static_cast<int64_t>(in_source.source_pos) - cursor_;
        PutVarint(body_, delta::ZigZag(static_cast<int32_t>(delta)), BodyContext::kDelta);
        cursor_ = static_cast<int64_t>(in_source.source_pos + in_source.length);
        at += static_cast<uint32_t>(in_source.length);
      }
      literal_start = at;
    }
    flush_literal(to);
  }

  std::span<const uint8_t> source_;
  std::span<const uint8_t> target_;
  const delta_match::SuffixIndex& index_;
  delta_match::TargetHistory history_;
  Body body_;
  std::vector<uint8_t> diff_;
  int64_t cursor_ = 0;
};

std::array<uint8_t, delta::kDigestBytes> Sha256(std::span<const uint8_t> bytes) {
  std::array<uint8_t, delta::kDigestBytes> digest{};
  ports::OpensslCrypto crypto;
  crypto.Sha256(bytes, digest);
  return digest;
}

}  // namespace

std::vector<uint8_t> MakeDeltaPatch(std::span<const uint8_t> source,
                                    std::span<const uint8_t> target, const DeltaOptions& options) {
  if (options.block_bytes < delta::kMinBlockBytes || options.block_bytes > delta::kMaxBlockBytes) {
    throw UsageError("block size must be between " + std::to_string(delta::kMinBlockBytes) +
                     " and " + std::to_string(delta::kMaxBlockBytes) + " bytes");
  }
  if (source.empty() || target.empty() || source.size() > 0x7fffffffu ||
      target.size() > 0x7fffffffu) {
    throw UsageError("images must be between 1 byte and 2 GiB long");
  }
  delta::PatchHeader header;
  header.block_bytes = options.block_bytes;
  header.source_size_bytes = static_cast<uint32_t>(source.size());
  header.target_size_bytes = static_cast<uint32_t>(target.size());
  header.block_count =
      static_cast<uint32_t>((target.size() + options.block_bytes - 1) / options.block_bytes);
  header.source_sha256 = Sha256(source);
  header.target_sha256 = Sha256(target);
  header.source_version = options.source_version;
  header.target_version = options.target_version;

  std::vector<uint8_t> patch(delta::kPatchHeaderBytes);
  delta::EncodePatchHeader(header, std::span<uint8_t, delta::kPatchHeaderBytes>(patch));

  const delta_match::SuffixIndex index(source);
  const auto pieces = delta_match::Align(source, target, index);
  BlockEncoder encoder(source, target, index);
  size_t first_piece = 0;
  for (uint32_t block = 0; block < header.block_count; ++block) {
    const uint32_t start = header.BlockStart(block);
    const uint32_t end = start + header.BlockLength(block);
    while (first_piece < pieces.size() &&
           pieces[first_piece].target_start + pieces[first_piece].length <= start) {
      ++first_piece;
    }
    size_t last_piece = first_piece;
    while (last_piece < pieces.size() && pieces[last_piece].target_start < end) ++last_piece;
    const Body& body = encoder.Encode(
        start, end, std::span(pieces).subspan(first_piece, last_piece - first_piece));
    PutBlock(patch, body, Crc32cTableDriven(target.subspan(start, end - start)));
  }
  return patch;
}

}  // namespace mqota::host
