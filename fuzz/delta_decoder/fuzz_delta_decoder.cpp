// Fuzz target: the delta decoder on arbitrary blocks.
//
// The first 4 input bytes choose the feeding piece size, the target size, the
// block size, the write alignment and the format (1 or 2); a valid header is made from them (so
// the fuzzer spends its time in the blocks, not on the header CRC) and the
// rest of the input is the patch's blocks, fed in pieces.
//
// Property: the decoder returns on every input, after at most (input bytes +
// blocks + 1) Feed calls; it never writes outside the target slot (the guard
// sectors around it and the source slot keep their bytes); an accepted block
// produced bytes whose CRC the block stated.
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "mqota/delta/decoder.h"
#include "mqota/flash/flash_area.h"
#include "mqota/flash/ram_flash.h"

using namespace mqota;

namespace {

constexpr uint32_t kSector = 256;
constexpr uint32_t kSourceBytes = 4096;
constexpr uint32_t kSlotBytes = 8192;
// guard | source | guard | target slot | guard
constexpr uint32_t kChipBytes = kSector + kSourceBytes + kSector + kSlotBytes + kSector;
constexpr uint8_t kGuard = 0xA5;

void Check(bool property) {
  if (!property) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 4) return 0;
  const size_t piece = 1 + data[0];
  const uint32_t target_size = 1 + ((data[1] | (data[2] << 8)) % kSlotBytes);
  const uint32_t block_bytes = kSector << (data[3] % 4);
  const uint32_t write_alignment = 1u << ((data[3] >> 2) % 4);

  static std::array<flash::SectorRun, 1> runs{{{kChipBytes / kSector, kSector}}};
  std::vector<uint8_t> storage(kChipBytes);
  flash::RamFlash chip(flash::FlashGeometry{runs, write_alignment, 0xFF}, storage);
  std::fill(storage.begin(), storage.end(), kGuard);
  uint32_t x = 0x9e3779b9u;
  for (uint32_t i = 0; i < kSourceBytes; ++i) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    storage[kSector + i] = static_cast<uint8_t>(x);
  }
  const std::vector<uint8_t> before = storage;
  const flash::FlashArea source(chip, kSector, kSourceBytes);
  const uint32_t slot_offset = 2 * kSector + kSourceBytes;
  const flash::FlashArea target(chip, slot_offset, kSlotBytes);

  delta::PatchHeader header;
  // Both formats the decoder reads (they differ in one model's choice).
  header.format = (data[3] & 0x10) != 0 ? delta::kOldestPatchFormat : delta::kPatchFormat;
  header.block_bytes = block_bytes;
  header.block_count = (target_size + block_bytes - 1) / block_bytes;
  header.source_size_bytes = kSourceBytes;
  header.target_size_bytes = target_size;
  std::vector<uint8_t> patch(delta::kPatchHeaderBytes);
  delta::EncodePatchHeader(header, std::span<uint8_t, delta::kPatchHeaderBytes>(patch));
  patch.insert(patch.end(), data + 4, data + size);

  delta::Decoder decoder(source, target);
  decoder.StartFresh();
  std::span<const uint8_t> rest(patch);
  size_t calls = 0;
  while (!rest.empty()) {
    Check(++calls <= patch.size() + header.block_count + 1);
    const auto n = std::min(piece, rest.size());
    auto p = decoder.Feed(rest.first(n));
    if (!p.ok()) break;
    Check(p->consumed_bytes <= n);
    Check(p->consumed_bytes > 0 || p->event != delta::FeedEvent::kNeedMore);
    rest = rest.subspan(p->consumed_bytes);
  }
  // Nothing outside the slot changed.
  Check(std::memcmp(storage.data(), before.data(), slot_offset) == 0);
  Check(std::memcmp(storage.data() + slot_offset + kSlotBytes,
                    before.data() + slot_offset + kSlotBytes, kSector) == 0);
  return 0;
}
