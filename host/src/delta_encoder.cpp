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

// A zero gap inside changed bytes either ends a run (the next pair says how
// many zeros) or is sent as data. Which codes shorter depends on the block:
// shifted pointers a word apart make short, regular zero runs that the coder
// squeezes to a few bits, while scattered changes favour longer runs. Each
// block is encoded with every one of these least gaps that end a run, and the
// shortest encoding kept.
constexpr std::array<size_t, 4> kRunEndingZeroGaps = {1, 2, 3, 4};

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

// The block as sent: its framed length, its CRC and its body, stored or range
// coded, whichever is shorter (a block of a few commands costs less stored
// than the coder's 5 bytes of start and end). Bit 0 of the framed length says
// which.
std::vector<uint8_t> FrameBlock(const Body& body, uint32_t target_crc) {
  RangeEncoder coder;
  for (const Symbol& s : body) coder.EncodeByte(s.context, s.byte);
  const auto coded = coder.Finish();
  const bool use_coded = coded.size() < body.size();
  const size_t length = use_coded ? coded.size() : body.size();
  std::vector<uint8_t> block;
  PutVarint(block, static_cast<uint32_t>(length << 1) | (use_coded ? 1u : 0u));
  std::array<uint8_t, delta::kBlockCrcBytes> crc{};
  StoreLe32(crc, 0, target_crc);
  block.insert(block.end(), crc.begin(), crc.end());
  if (use_coded) {
    block.insert(block.end(), coded.begin(), coded.end());
  } else {
    for (const Symbol& s : body) block.push_back(s.byte);
  }
  return block;
}

// The difference bytes as (zero run, changed count, changed bytes) pairs; a
// gap of `run_ending_gap` zeros or more ends a run. `previous_zeros` is the
// block's last zero count so far (its model is chosen by it), updated.
void PutRuns(Body& out, std::span<const uint8_t> diff, size_t run_ending_gap,
             uint32_t& previous_zeros) {
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
      if (gap >= run_ending_gap || end + gap == diff.size()) break;
      end += gap;
    }
    PutVarint(out, static_cast<uint32_t>(zeros),
              previous_zeros >= delta::kLongZeroRun ? BodyContext::kZeroRunAfterLong
                                                    : BodyContext::kZeroRun);
    previous_zeros = static_cast<uint32_t>(zeros);
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

// One command of a block, before it is written: what it produces and where
// from. kCopy and kAdd read the source at `from`; kTargetCopy reads `from`
// bytes back in the target.
struct Command {
  CommandKind kind;
  uint32_t target_start;
  uint32_t length;
  uint32_t from;
};

// Decides each block's commands: the aligner's pieces cut to the block,
// aligned ones as kCopy or kAdd, the rest parsed into matches and literals.
class BlockPlanner {
 public:
  BlockPlanner(std::span<const uint8_t> source, std::span<const uint8_t> target,
               const delta_match::SuffixIndex& index)
      : source_(source), target_(target), index_(index), history_(target) {}

  // Blocks in order: the target history only moves forward.
  const std::vector<Command>& Plan(uint32_t start, uint32_t end,
                                   std::span<const delta_match::Piece> pieces) {
    commands_.clear();
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
    return commands_;
  }

 private:
  void Aligned(uint32_t target_start, uint32_t length, uint32_t source_start) {
    const bool changed =
        !std::equal(target_.begin() + target_start, target_.begin() + target_start + length,
                    source_.begin() + source_start);
    commands_.push_back(
        {changed ? CommandKind::kAdd : CommandKind::kCopy, target_start, length, source_start});
  }

  // Bytes the alignment left unexplained: exact matches elsewhere in the
  // source or earlier in the target where they are long enough to pay,
  // literal bytes between them (a greedy parse).
  void Unaligned(uint32_t from, uint32_t to) {
    uint32_t literal_start = from;
    for (uint32_t at = from; at < to;) {
      const auto in_source = index_.Longest(target_.subspan(at, to - at));
      const auto in_target = history_.Longest(at, to);
      const bool source_pays = in_source.length >= kMinSourceMatch;
      const bool target_pays = in_target.length >= kMinTargetMatch;
      if (!source_pays && !target_pays) {
        ++at;
        continue;
      }
      if (at > literal_start) {
        commands_.push_back({CommandKind::kLiteral, literal_start, at - literal_start, 0});
      }
      if (target_pays && (!source_pays || in_target.length >= in_source.length)) {
        const auto length = static_cast<uint32_t>(in_target.length);
        commands_.push_back(
            {CommandKind::kTargetCopy, at, length, static_cast<uint32_t>(in_target.distance)});
        at += length;
      } else {
        const auto length = static_cast<uint32_t>(in_source.length);
        commands_.push_back(
            {CommandKind::kCopy, at, length, static_cast<uint32_t>(in_source.source_pos)});
        at += length;
      }
      literal_start = at;
    }
    if (to > literal_start) {
      commands_.push_back({CommandKind::kLiteral, literal_start, to - literal_start, 0});
    }
  }

  std::span<const uint8_t> source_;
  std::span<const uint8_t> target_;
  const delta_match::SuffixIndex& index_;
  delta_match::TargetHistory history_;
  std::vector<Command> commands_;
};

// Writes a block's commands as its body (the stored form, each byte with its
// model); `run_ending_gap` as in PutRuns.
class BodyWriter {
 public:
  BodyWriter(std::span<const uint8_t> source, std::span<const uint8_t> target)
      : source_(source), target_(target) {}

  const Body& Write(uint32_t block_start, std::span<const Command> commands,
                    size_t run_ending_gap) {
    body_.clear();
    // The decoder's source cursor starts at the block's offset.
    int64_t cursor = std::min<int64_t>(block_start, static_cast<int64_t>(source_.size()));
    uint32_t previous_zeros = 0;
    for (const Command& c : commands) {
      PutTag(body_, c.kind, c.length);
      switch (c.kind) {
        case CommandKind::kLiteral:
          for (uint32_t i = c.target_start; i < c.target_start + c.length; ++i) {
            body_.push_back({BodyContext::kLiteral, target_[i]});
          }
          break;
        case CommandKind::kTargetCopy: PutVarint(body_, c.from, BodyContext::kDelta); break;
        case CommandKind::kCopy:
        case CommandKind::kAdd: {
          const int64_t delta = int64_t{c.from} - cursor;
          PutVarint(body_, delta::ZigZag(static_cast<int32_t>(delta)), BodyContext::kDelta);
          cursor = int64_t{c.from} + c.length;
          if (c.kind == CommandKind::kAdd) {
            diff_.resize(c.length);
            for (uint32_t i = 0; i < c.length; ++i) {
              diff_[i] = static_cast<uint8_t>(target_[c.target_start + i] - source_[c.from + i]);
            }
            PutRuns(body_, diff_, run_ending_gap, previous_zeros);
          }
          break;
        }
      }
    }
    return body_;
  }

 private:
  std::span<const uint8_t> source_;
  std::span<const uint8_t> target_;
  Body body_;
  std::vector<uint8_t> diff_;
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
  BlockPlanner planner(source, target, index);
  BodyWriter writer(source, target);
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
    const auto block_pieces = std::span(pieces).subspan(first_piece, last_piece - first_piece);
    const uint32_t crc = Crc32cTableDriven(target.subspan(start, end - start));
    std::vector<uint8_t> shortest;
    const std::vector<Command>& commands = planner.Plan(start, end, block_pieces);
    for (const size_t gap : kRunEndingZeroGaps) {
      auto framed = FrameBlock(writer.Write(start, commands, gap), crc);
      if (shortest.empty() || framed.size() < shortest.size()) shortest = std::move(framed);
    }
    patch.insert(patch.end(), shortest.begin(), shortest.end());
  }
  return patch;
}

}  // namespace mqota::host
