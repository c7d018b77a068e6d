// Decoder: applies a delta patch into a flash area (the secondary slot),
// reading the old image from another (the primary), with the patch streamed
// in pieces of any size. docs/spec/delta-patch.md#applying describes the
// rules; this is how a caller drives them:
//
//   Decoder d(primary, secondary);
//   d.StartFresh();                      // or d.Resume(header, checkpoint)
//   for each piece of the patch, in order:
//     while (!piece.empty()) {
//       auto p = d.Feed(piece);          // error: stop; resume from the last checkpoint
//       piece = piece.subspan(p->consumed_bytes);
//       kHeaderParsed: CheckSource(primary, d.header(), crypto) before feeding on
//       kBlockDone:    persist d.checkpoint() (e.g. in the progress journal)
//       kDone:         CheckTarget(secondary, d.header(), crypto), then validate the image
//     }
//
// Power-loss argument: a block's sectors belong to that block alone, are
// erased when the block starts and are written only while it is decoded;
// blocks before the checkpoint are never touched again and the source is
// only read. So after a cut, Resume(header, last persisted checkpoint)
// erases and decodes the interrupted block again from its first patch byte:
// at most one block's patch bytes are fetched twice, and no cut point can
// leave a wrong byte behind (the last check, CheckTarget, would see it).
//
// RAM: the object itself (sizeof(Decoder), checked below against
// kDecoderRamBudgetBytes), a few dozen bytes of stack, no heap.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "mqota/delta/error.h"
#include "mqota/delta/format.h"
#include "mqota/delta/range_decoder.h"
#include "mqota/flash/flash_area.h"

namespace mqota::delta {

// Where to resume: blocks [0, next_block) are complete in the target area and
// block `next_block` starts at byte `patch_offset` of the patch.
struct Checkpoint {
  uint32_t next_block = 0;
  uint32_t patch_offset = 0;

  friend constexpr bool operator==(const Checkpoint&, const Checkpoint&) = default;
};

enum class FeedEvent : uint8_t {
  kNeedMore,      // every byte given was consumed; give the next ones
  kHeaderParsed,  // header() is known: check the source before feeding on
  kBlockDone,     // a block is complete in flash: persist checkpoint()
  kDone,          // the last block is complete: check the target
};

struct FeedProgress {
  size_t consumed_bytes = 0;
  FeedEvent event = FeedEvent::kNeedMore;
};

inline constexpr size_t kDecoderRamBudgetBytes = 8192;

class Decoder {
 public:
  // Buffers, in the object: the target bytes not yet written (a multiple of
  // every write alignment, 1 … 32) and a window of the source.
  static constexpr size_t kWriteBufferBytes = 512;
  static constexpr size_t kSourceBufferBytes = 1024;
  // Coded bytes taken from the input but not yet read by the range decoder:
  // enough for one symbol, so a symbol is never decoded half.
  static constexpr size_t kPendingBytes = kRangeMaxBytesPerSymbol;

  // Both areas must outlive the decoder. The decoder never writes `source`.
  Decoder(const flash::FlashArea& source, const flash::FlashArea& target);

  // Expects the patch from its first byte (the header).
  void StartFresh();
  // Continues after `checkpoint`; the next byte fed must be patch byte
  // `checkpoint.patch_offset`. Errors: kGeometry (see below),
  // kBadCheckpoint (block beyond the patch's end, or an offset inside the
  // header).
  DeltaResult<void> Resume(const PatchHeader& header, const Checkpoint& checkpoint);

  // Consumes bytes until they run out or an event the caller must act on.
  // consumed_bytes is then < bytes.size() only for an event; feed the rest
  // after handling it. Errors (the decoder then stops; Resume from the last
  // persisted checkpoint, or give up):
  //   kBadMagic, kBadFormat, kBadHeader: the header (ParsePatchHeader);
  //   kGeometry: a block start is not a sector start of the target, or an
  //     image is larger than its area;
  //   kCorrupt: malformed commands; kBlockMismatch: a block's bytes fail its
  //     CRC (a corrupt patch, or a source other than the patch's);
  //   kTrailingBytes: bytes after the last block; kFinished: not started, or
  //     stopped by an earlier error;
  //   kFlash: an erase, write or read failed (a power cut, say).
  DeltaResult<FeedProgress> Feed(std::span<const uint8_t> bytes);

  // Valid from kHeaderParsed (or Resume) on.
  const PatchHeader& header() const { return header_; }
  // The last block boundary reached.
  Checkpoint checkpoint() const { return checkpoint_; }
  bool done() const { return state_ == State::kDone; }

 private:
  enum class State : uint8_t {
    kIdle,
    kHeader,
    kBlockLength,
    kBlockCrc,
    kTag,
    kDelta,
    kLiteral,
    kAddZeroRun,
    kAddCount,
    kAddBytes,
    kDone,
    kFailed,
  };

  DeltaResult<size_t> Consume(std::span<const uint8_t> bytes);
  DeltaResult<size_t> ConsumeHeader(std::span<const uint8_t> bytes);
  DeltaResult<size_t> ConsumeBlockCrc(std::span<const uint8_t> bytes);
  DeltaResult<size_t> ConsumeBody(std::span<const uint8_t> bytes);
  DeltaResult<size_t> ConsumeCodedBody(std::span<const uint8_t> bytes);
  DeltaResult<void> ProcessBodyByte(uint8_t byte);
  BodyContext Context() const;
  bool InBody() const;
  DeltaResult<void> OnVarint(uint32_t value);
  DeltaResult<void> OnTag(uint32_t tag);
  DeltaResult<void> OnDelta(uint32_t zigzag);
  DeltaResult<void> OnAddCount(uint32_t count);
  DeltaResult<void> CheckGeometry(const PatchHeader& header) const;
  DeltaResult<void> BeginBlock();
  DeltaResult<void> FinishCommand();
  DeltaResult<void> FinishBlock();
  // Appends `length` source bytes at the cursor (plus `difference`, when not
  // empty) to the block's output, advancing the cursor.
  DeltaResult<void> EmitSource(uint32_t length, std::span<const uint8_t> difference);
  DeltaResult<void> EmitLiteral(std::span<const uint8_t> bytes);
  // Appends `length` bytes found `distance` bytes back in the target.
  DeltaResult<void> EmitTarget(uint32_t length, uint32_t distance);
  DeltaResult<std::span<const uint8_t>> SourceWindow(uint32_t offset, uint32_t max_bytes);
  DeltaResult<void> Flush(bool last);
  DeltaResult<bool> TakeVarintByte(uint8_t byte);

  flash::FlashArea source_;
  flash::FlashArea target_;
  State state_ = State::kIdle;
  PatchHeader header_{};
  Checkpoint checkpoint_{};
  uint32_t position_ = 0;  // patch offset of the next byte fed
  FeedEvent event_ = FeedEvent::kNeedMore;

  // The varint being read.
  uint32_t varint_ = 0;
  uint32_t varint_bytes_ = 0;
  // Fixed-size fields being collected (header, block CRC).
  uint32_t field_fill_ = 0;

  // The block being decoded.
  uint32_t block_ = 0;
  uint32_t block_length_ = 0;
  uint32_t block_out_ = 0;  // target bytes produced so far
  uint32_t body_length_ = 0;
  uint32_t body_used_ = 0;  // body bytes taken from the input
  bool coded_ = false;      // the body is range coded (else stored)
  bool range_started_ = false;
  uint32_t expected_crc_ = 0;
  uint32_t crc_ = 0;
  uint32_t written_ = 0;  // target bytes of the block already in flash
  // The command being decoded.
  CommandKind kind_ = CommandKind::kLiteral;
  uint32_t command_left_ = 0;  // target bytes the command has still to produce
  uint32_t run_left_ = 0;      // difference bytes of the current add run
  uint32_t run_bytes_ = 0;     // its length
  // The block's last zero count (0 before its first): the current pair's,
  // and the context of the next one's (kZeroRunAfterLong).
  uint32_t zero_run_ = 0;
  int64_t cursor_ = 0;  // source offset of the next source byte

  uint32_t window_start_ = 0;
  uint32_t window_bytes_ = 0;
  std::array<uint8_t, kPatchHeaderBytes> header_bytes_{};
  std::array<uint8_t, kWriteBufferBytes> write_buffer_{};
  uint32_t write_fill_ = 0;
  std::array<uint8_t, kSourceBufferBytes> window_{};
  std::array<uint8_t, kPendingBytes> pending_{};
  uint32_t pending_fill_ = 0;
  uint32_t pending_read_ = 0;
  RangeDecoder range_;
};

}  // namespace mqota::delta

namespace mqota::delta {
static_assert(sizeof(Decoder) + kDecoderRamBudgetBytes / 8 <= kDecoderRamBudgetBytes,
              "the decoder and its stack must stay within the 8 KiB apply budget");
}  // namespace mqota::delta
