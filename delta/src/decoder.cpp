// The decoder's state machine. Every state but the output of a copy consumes
// at least one patch byte per step, and every copy is bounded by the bytes
// its block has left to produce, so hostile input ends in an error or in the
// end of the input, never in a loop (docs/spec/delta-patch.md#decoder-limits).
#include "mqota/delta/decoder.h"

#include <algorithm>

#include "mqota/base/crc32c.h"
#include "mqota/base/endian.h"

namespace mqota::delta {
namespace {

DeltaError Corrupt() { return DeltaError{DeltaErrc::kCorrupt}; }
DeltaError FlashFailed(const flash::FlashError& error) {
  return DeltaError{DeltaErrc::kFlash, error};
}

}  // namespace

Decoder::Decoder(const flash::FlashArea& source, const flash::FlashArea& target)
    : source_(source), target_(target) {}

void Decoder::StartFresh() {
  state_ = State::kHeader;
  position_ = 0;
  field_fill_ = 0;
  checkpoint_ = {};
  window_bytes_ = 0;
}

DeltaResult<void> Decoder::Resume(const PatchHeader& header, const Checkpoint& checkpoint) {
  state_ = State::kFailed;
  MQOTA_TRY(CheckGeometry(header));
  if (checkpoint.next_block > header.block_count || checkpoint.patch_offset < kPatchHeaderBytes ||
      (checkpoint.next_block == 0 && checkpoint.patch_offset != kPatchHeaderBytes)) {
    return DeltaError{DeltaErrc::kBadCheckpoint};
  }
  header_ = header;
  checkpoint_ = checkpoint;
  position_ = checkpoint.patch_offset;
  block_ = checkpoint.next_block;
  window_bytes_ = 0;
  varint_ = 0;
  varint_bytes_ = 0;
  state_ = block_ == header.block_count ? State::kDone : State::kBlockLength;
  return {};
}

DeltaResult<FeedProgress> Decoder::Feed(std::span<const uint8_t> bytes) {
  if (state_ == State::kDone) {
    if (bytes.empty()) return FeedProgress{0, FeedEvent::kDone};
    return DeltaError{DeltaErrc::kTrailingBytes};
  }
  if (state_ == State::kIdle || state_ == State::kFailed) {
    return DeltaError{DeltaErrc::kFinished};
  }
  size_t used = 0;
  while (used < bytes.size()) {
    event_ = FeedEvent::kNeedMore;
    auto step = Consume(bytes.subspan(used));
    if (!step.ok()) {
      state_ = State::kFailed;
      return step.error();
    }
    used += *step;
    position_ += static_cast<uint32_t>(*step);
    if (event_ != FeedEvent::kNeedMore) {
      checkpoint_ = {block_, position_};
      return FeedProgress{used, event_};
    }
  }
  return FeedProgress{used, FeedEvent::kNeedMore};
}

DeltaResult<size_t> Decoder::Consume(std::span<const uint8_t> bytes) {
  switch (state_) {
    case State::kHeader: return ConsumeHeader(bytes);
    case State::kBlockLength: {
      MQOTA_TRY_ASSIGN(const bool complete, TakeVarintByte(bytes[0]));
      if (complete) {
        // Bit 0 says how the body is sent; an empty body cannot produce a
        // block's bytes.
        coded_ = (varint_ & 1u) != 0;
        body_length_ = varint_ >> 1;
        if (body_length_ == 0) return Corrupt();
        field_fill_ = 0;
        expected_crc_ = 0;
        state_ = State::kBlockCrc;
      }
      return size_t{1};
    }
    case State::kBlockCrc: return ConsumeBlockCrc(bytes);
    default: return ConsumeBody(bytes);
  }
}

DeltaResult<size_t> Decoder::ConsumeHeader(std::span<const uint8_t> bytes) {
  const size_t n = std::min<size_t>(bytes.size(), kPatchHeaderBytes - field_fill_);
  std::copy_n(bytes.begin(), n, header_bytes_.begin() + field_fill_);
  field_fill_ += static_cast<uint32_t>(n);
  if (field_fill_ < kPatchHeaderBytes) return n;
  MQOTA_TRY_ASSIGN(const PatchHeader header, ParsePatchHeader(header_bytes_));
  MQOTA_TRY(CheckGeometry(header));
  header_ = header;
  block_ = 0;
  varint_ = 0;
  varint_bytes_ = 0;
  state_ = State::kBlockLength;
  event_ = FeedEvent::kHeaderParsed;
  return n;
}

DeltaResult<size_t> Decoder::ConsumeBlockCrc(std::span<const uint8_t> bytes) {
  expected_crc_ |= uint32_t{bytes[0]} << (8 * field_fill_);
  if (++field_fill_ == kBlockCrcBytes) MQOTA_TRY(BeginBlock());
  return size_t{1};
}

DeltaResult<size_t> Decoder::ConsumeBody(std::span<const uint8_t> bytes) {
  if (coded_) return ConsumeCodedBody(bytes);
  // A body that ends while its commands still need bytes.
  if (body_used_ == body_length_) return Corrupt();
  const size_t body_left = body_length_ - body_used_;
  if (state_ == State::kLiteral || state_ == State::kAddBytes) {
    const uint32_t want = state_ == State::kLiteral ? command_left_ : run_left_;
    const auto n = static_cast<uint32_t>(std::min({bytes.size(), body_left, size_t{want}}));
    body_used_ += n;
    if (state_ == State::kLiteral) {
      MQOTA_TRY(EmitLiteral(bytes.first(n)));
      command_left_ -= n;
      if (command_left_ == 0) MQOTA_TRY(FinishCommand());
    } else {
      MQOTA_TRY(EmitSource(n, bytes.first(n)));
      command_left_ -= n;
      run_left_ -= n;
      if (run_left_ == 0) {
        if (command_left_ == 0) {
          MQOTA_TRY(FinishCommand());
        } else {
          state_ = State::kAddZeroRun;
        }
      }
    }
    return size_t{n};
  }
  ++body_used_;
  MQOTA_TRY_ASSIGN(const bool complete, TakeVarintByte(bytes[0]));
  if (complete) MQOTA_TRY(OnVarint(varint_));
  return size_t{1};
}

DeltaResult<size_t> Decoder::ConsumeCodedBody(std::span<const uint8_t> bytes) {
  // Keep the unread coded bytes at the front, then top up from the input,
  // never beyond this block's body.
  std::copy(pending_.begin() + pending_read_, pending_.begin() + pending_fill_, pending_.begin());
  pending_fill_ -= pending_read_;
  pending_read_ = 0;
  const size_t n = std::min(
      {bytes.size(), size_t{kPendingBytes - pending_fill_}, size_t{body_length_ - body_used_}});
  std::copy_n(bytes.begin(), n, pending_.begin() + pending_fill_);
  pending_fill_ += static_cast<uint32_t>(n);
  body_used_ += static_cast<uint32_t>(n);
  const bool all_taken = body_used_ == body_length_;
  auto next = [this](uint8_t& byte) {
    if (pending_read_ == pending_fill_) return false;
    byte = pending_[pending_read_++];
    return true;
  };
  if (!range_started_) {
    if (pending_fill_ < kRangeInitBytes && !all_taken) return n;
    if (!range_.Init(next)) return Corrupt();
    range_started_ = true;
  }
  // A symbol is decoded only when it cannot run out of input halfway, or when
  // the whole body is here (then running out means the body is too short).
  // Bounded: each symbol reads a byte or narrows the range, which must be
  // renormalised with a byte within about 760 decisions.
  while (InBody() && (pending_fill_ - pending_read_ >= kPendingBytes || all_taken)) {
    uint8_t byte = 0;
    if (!range_.DecodeByte(Context(), next, byte)) return Corrupt();
    MQOTA_TRY(ProcessBodyByte(byte));
  }
  return n;
}

DeltaResult<void> Decoder::ProcessBodyByte(uint8_t byte) {
  const std::span<const uint8_t> one(&byte, 1);
  switch (state_) {
    case State::kLiteral:
      MQOTA_TRY(EmitLiteral(one));
      if (--command_left_ == 0) return FinishCommand();
      return {};
    case State::kAddBytes:
      MQOTA_TRY(EmitSource(1, one));
      --command_left_;
      if (--run_left_ == 0) {
        if (command_left_ == 0) return FinishCommand();
        state_ = State::kAddZeroRun;
      }
      return {};
    default: {
      MQOTA_TRY_ASSIGN(const bool complete, TakeVarintByte(byte));
      if (complete) MQOTA_TRY(OnVarint(varint_));
      return {};
    }
  }
}

BodyContext Decoder::Context() const {
  if (varint_bytes_ > 0) return BodyContext::kVarintMore;
  switch (state_) {
    case State::kTag: return BodyContext::kTag;
    case State::kDelta: return BodyContext::kDelta;
    case State::kAddZeroRun:
      // zero_run_ is still the block's previous zero count here.
      return header_.format >= 2 && zero_run_ >= kLongZeroRun ? BodyContext::kZeroRunAfterLong
                                                              : BodyContext::kZeroRun;
    case State::kAddCount: return BodyContext::kCount;
    case State::kAddBytes:
      return run_left_ == run_bytes_ ? BodyContext::kDiffFirst : BodyContext::kDiffNext;
    default: return BodyContext::kLiteral;
  }
}

bool Decoder::InBody() const {
  return state_ == State::kTag || state_ == State::kDelta || state_ == State::kLiteral ||
         state_ == State::kAddZeroRun || state_ == State::kAddCount || state_ == State::kAddBytes;
}

DeltaResult<bool> Decoder::TakeVarintByte(uint8_t byte) {
  // The fifth byte may carry only the top 4 bits of a 32-bit value.
  if (varint_bytes_ == kMaxVarintBytes - 1 && byte > 0x0f) return Corrupt();
  if (varint_bytes_ == 0) varint_ = 0;
  varint_ |= uint32_t{byte & 0x7fu} << (7 * varint_bytes_);
  ++varint_bytes_;
  if ((byte & 0x80u) != 0) return false;
  varint_bytes_ = 0;
  return true;
}

DeltaResult<void> Decoder::OnVarint(uint32_t value) {
  switch (state_) {
    case State::kTag: return OnTag(value);
    case State::kDelta: return OnDelta(value);
    case State::kAddZeroRun:
      if (value > command_left_) return Corrupt();
      zero_run_ = value;
      MQOTA_TRY(EmitSource(value, {}));
      command_left_ -= value;
      state_ = State::kAddCount;
      return {};
    case State::kAddCount: return OnAddCount(value);
    default: return Corrupt();
  }
}

DeltaResult<void> Decoder::OnTag(uint32_t tag) {
  const uint32_t kind = tag & ((1u << kKindBits) - 1);
  const uint32_t length = tag >> kKindBits;
  if (length == 0 || length > block_length_ - block_out_) return Corrupt();
  kind_ = static_cast<CommandKind>(kind);
  command_left_ = length;
  state_ = kind_ == CommandKind::kLiteral ? State::kLiteral : State::kDelta;
  return {};
}

DeltaResult<void> Decoder::OnDelta(uint32_t zigzag) {
  if (kind_ == CommandKind::kTargetCopy) {
    // A distance, not a delta: the bytes must already be in the target.
    const uint32_t produced = header_.BlockStart(block_) + block_out_;
    if (zigzag == 0 || zigzag > produced) return Corrupt();
    MQOTA_TRY(EmitTarget(command_left_, zigzag));
    command_left_ = 0;
    return FinishCommand();
  }
  cursor_ += UnZigZag(zigzag);
  if (cursor_ < 0 || cursor_ + command_left_ > int64_t{header_.source_size_bytes}) {
    return Corrupt();
  }
  if (kind_ == CommandKind::kCopy) {
    MQOTA_TRY(EmitSource(command_left_, {}));
    command_left_ = 0;
    return FinishCommand();
  }
  state_ = State::kAddZeroRun;
  return {};
}

DeltaResult<void> Decoder::OnAddCount(uint32_t count) {
  if (count > command_left_) return Corrupt();
  // A run pair that produces nothing is never written by the encoder; taking
  // it would let a patch spend body bytes without progress.
  if (count == 0 && zero_run_ == 0) return Corrupt();
  if (count > 0) {
    run_left_ = count;
    run_bytes_ = count;
    state_ = State::kAddBytes;
    return {};
  }
  if (command_left_ == 0) return FinishCommand();
  state_ = State::kAddZeroRun;
  return {};
}

DeltaResult<void> Decoder::CheckGeometry(const PatchHeader& header) const {
  if (header.source_size_bytes > source_.size_bytes() ||
      header.target_size_bytes > target_.size_bytes()) {
    return DeltaError{DeltaErrc::kGeometry};
  }
  // Each block must own whole sectors, or erasing one block would erase part
  // of a finished neighbour. block_count <= target size / kMinBlockBytes
  // bounds the loop.
  for (uint32_t i = 0; i < header.block_count; ++i) {
    const auto sector = target_.SectorContaining(header.BlockStart(i));
    if (!sector || sector->offset_bytes != header.BlockStart(i)) {
      return DeltaError{DeltaErrc::kGeometry};
    }
  }
  return {};
}

DeltaResult<void> Decoder::BeginBlock() {
  block_length_ = header_.BlockLength(block_);
  const uint32_t start = header_.BlockStart(block_);
  const auto last = target_.SectorContaining(start + block_length_ - 1);
  if (!last) return DeltaError{DeltaErrc::kGeometry};
  // Whatever a cut left in this block's sectors is erased before decoding.
  const auto erased = target_.Erase(start, last->offset_bytes + last->size_bytes - start);
  if (!erased.ok()) return FlashFailed(erased.error());
  block_out_ = 0;
  body_used_ = 0;
  pending_fill_ = 0;
  pending_read_ = 0;
  range_started_ = false;
  if (coded_) range_.Reset();
  zero_run_ = 0;  // no zero count before the block's first (kZeroRunAfterLong)
  written_ = 0;
  write_fill_ = 0;
  crc_ = 0;
  // Code that did not move stays at the same offset: a cursor starting at the
  // block's own offset keeps the first delta small.
  cursor_ = std::min(start, header_.source_size_bytes);
  state_ = State::kTag;
  return {};
}

DeltaResult<void> Decoder::FinishCommand() {
  state_ = State::kTag;
  if (block_out_ < block_length_) return {};
  // The body must end exactly here: every byte taken and, coded, read.
  if (body_used_ != body_length_ || pending_read_ != pending_fill_) return Corrupt();
  return FinishBlock();
}

DeltaResult<void> Decoder::FinishBlock() {
  MQOTA_TRY(Flush(true));
  if (crc_ != expected_crc_) return DeltaError{DeltaErrc::kBlockMismatch};
  ++block_;
  varint_bytes_ = 0;
  if (block_ == header_.block_count) {
    state_ = State::kDone;
    event_ = FeedEvent::kDone;
  } else {
    state_ = State::kBlockLength;
    event_ = FeedEvent::kBlockDone;
  }
  return {};
}

DeltaResult<void> Decoder::EmitLiteral(std::span<const uint8_t> bytes) {
  while (!bytes.empty()) {
    const size_t n = std::min<size_t>(bytes.size(), kWriteBufferBytes - write_fill_);
    std::copy_n(bytes.begin(), n, write_buffer_.begin() + write_fill_);
    write_fill_ += static_cast<uint32_t>(n);
    block_out_ += static_cast<uint32_t>(n);
    bytes = bytes.subspan(n);
    if (write_fill_ == kWriteBufferBytes) MQOTA_TRY(Flush(false));
  }
  return {};
}

DeltaResult<void> Decoder::EmitTarget(uint32_t length, uint32_t distance) {
  // Earlier blocks and the flushed part of this one are read back from
  // flash; the rest is still in the write buffer. Byte by byte from the
  // buffer, so an overlapping copy repeats what it has just produced.
  std::array<uint8_t, 32> chunk{};
  for (uint32_t done = 0; done < length;) {
    const uint32_t from = header_.BlockStart(block_) + block_out_ - distance;
    const uint32_t flushed_end = header_.BlockStart(block_) + written_;
    uint32_t n = 1;
    if (from < flushed_end) {
      n = std::min({length - done, flushed_end - from, static_cast<uint32_t>(chunk.size())});
      const auto read = target_.Read(from, std::span(chunk).first(n));
      if (!read.ok()) return FlashFailed(read.error());
      MQOTA_TRY(EmitLiteral(std::span<const uint8_t>(chunk).first(n)));
    } else {
      const uint8_t byte = write_buffer_[from - flushed_end];
      MQOTA_TRY(EmitLiteral(std::span<const uint8_t>(&byte, 1)));
    }
    done += n;
  }
  return {};
}

DeltaResult<void> Decoder::EmitSource(uint32_t length, std::span<const uint8_t> difference) {
  // Bounded by `length`: every pass emits at least one byte.
  uint32_t done = 0;
  while (done < length) {
    const uint32_t room = static_cast<uint32_t>(kWriteBufferBytes) - write_fill_;
    MQOTA_TRY_ASSIGN(const auto window,
                     SourceWindow(static_cast<uint32_t>(cursor_), std::min(length - done, room)));
    uint8_t* out = write_buffer_.data() + write_fill_;
    for (size_t i = 0; i < window.size(); ++i) {
      out[i] =
          difference.empty() ? window[i] : static_cast<uint8_t>(window[i] + difference[done + i]);
    }
    const auto n = static_cast<uint32_t>(window.size());
    write_fill_ += n;
    block_out_ += n;
    cursor_ += n;
    done += n;
    if (write_fill_ == kWriteBufferBytes) MQOTA_TRY(Flush(false));
  }
  return {};
}

DeltaResult<std::span<const uint8_t>> Decoder::SourceWindow(uint32_t offset, uint32_t max_bytes) {
  // Callers checked [offset, offset + max_bytes) against the source size.
  if (offset < window_start_ || offset >= window_start_ + window_bytes_) {
    const uint32_t n = std::min<uint32_t>(kSourceBufferBytes, header_.source_size_bytes - offset);
    const auto read = source_.Read(offset, std::span(window_).first(n));
    if (!read.ok()) {
      window_bytes_ = 0;
      return FlashFailed(read.error());
    }
    window_start_ = offset;
    window_bytes_ = n;
  }
  const uint32_t skip = offset - window_start_;
  return std::span<const uint8_t>(window_).subspan(skip, std::min(max_bytes, window_bytes_ - skip));
}

DeltaResult<void> Decoder::Flush(bool last) {
  crc_ = Crc32cTableDriven(std::span(write_buffer_).first(write_fill_), crc_);
  uint32_t length = write_fill_;
  if (last) {
    // The block's tail, padded to the program unit with the erased value; the
    // block's sectors end on a unit boundary, so the padding stays inside them.
    const uint32_t unit = target_.write_alignment_bytes();
    const uint32_t padded = (length + unit - 1) / unit * unit;
    std::fill(write_buffer_.begin() + length, write_buffer_.begin() + padded,
              target_.erased_value());
    length = padded;
  }
  if (length > 0) {
    const uint32_t at = header_.BlockStart(block_) + written_;
    const auto wrote = target_.Write(at, std::span(write_buffer_).first(length));
    if (!wrote.ok()) return FlashFailed(wrote.error());
  }
  written_ += length;
  write_fill_ = 0;
  return {};
}

}  // namespace mqota::delta
