// mqota::delta on the target: the host encoder's patch (tests/vectors/delta)
// applied by the device decoder from one RamFlash slot into another, in
// pieces that cut its symbols anywhere, with both digests checked; then a
// resume from a checkpoint, and a wrong source refused.
#include <algorithm>
#include <array>
#include <cstdint>
#include <span>

#include "check.h"
#include "delta_new.h"
#include "delta_old.h"
#include "delta_patch.h"
#include "layers.h"
#include "mqota/delta/decoder.h"
#include "mqota/delta/verify.h"
#include "mqota/flash/flash_area.h"
#include "mqota/flash/ram_flash.h"
#include "test_crypto.h"

namespace mqota::selftest {
namespace {

using vectors::kDeltaNew;
using vectors::kDeltaNewSize;
using vectors::kDeltaOld;
using vectors::kDeltaOldSize;
using vectors::kDeltaPatch;
using vectors::kDeltaPatchSize;

// Two 8 KiB slots of 1 KiB sectors, W 8: the blocks (1 KiB) own one sector each.
constexpr flash::SectorRun kSectors[] = {{16, 1024}};
constexpr flash::FlashGeometry kGeometry{kSectors, 8, 0xFF};
constexpr uint32_t kSlotBytes = 8192;

std::array<uint8_t, 2 * kSlotBytes> g_chip;
flash::RamFlash g_device{kGeometry, g_chip};
const flash::FlashArea g_primary{g_device, 0, kSlotBytes};
const flash::FlashArea g_secondary{g_device, kSlotBytes, kSlotBytes};
// Static, not on the stack: the decoders are the RAM budget of an apply.
delta::Decoder g_first{g_primary, g_secondary};
delta::Decoder g_second{g_primary, g_secondary};

void Load(std::span<const uint8_t> source) {
  std::fill(g_chip.begin(), g_chip.end(), uint8_t{0x42});  // a stale secondary
  std::copy(source.begin(), source.end(), g_chip.begin());
}

bool TargetIsTheNewImage() {
  return std::equal(kDeltaNew, kDeltaNew + kDeltaNewSize, g_chip.begin() + kSlotBytes);
}

// Feeds patch bytes [from, to) in pieces of `piece`, checking the source at
// the header; stops after block `stop_block` - 1 when it is not 0. Returns
// nullptr or why it failed.
const char* Feed(delta::Decoder& d, uint32_t from, uint32_t to, uint32_t piece,
                 uint32_t stop_block) {
  HashOnlyCrypto crypto;
  const std::span<const uint8_t> patch(kDeltaPatch, to);
  for (uint32_t at = from; at < to;) {
    auto chunk = patch.subspan(at, std::min(piece, to - at));
    while (!chunk.empty()) {
      const auto p = d.Feed(chunk);
      if (!p.ok()) return delta::Describe(p.error().code);
      chunk = chunk.subspan(p->consumed_bytes);
      at += static_cast<uint32_t>(p->consumed_bytes);
      if (p->event == delta::FeedEvent::kHeaderParsed &&
          !delta::CheckSource(g_primary, d.header(), crypto).ok()) {
        return "wrong source";
      }
      if (p->event == delta::FeedEvent::kBlockDone && d.checkpoint().next_block == stop_block) {
        return nullptr;
      }
    }
  }
  return nullptr;
}

const char* AppliesTheHostsPatch() {
  Load({kDeltaOld, kDeltaOldSize});
  g_first.StartFresh();
  const char* why = Feed(g_first, 0, kDeltaPatchSize, Opaque(61u), 0);
  if (why != nullptr) return why;
  MQOTA_EXPECT(g_first.done());
  HashOnlyCrypto crypto;
  MQOTA_EXPECT(delta::CheckTarget(g_secondary, g_first.header(), crypto).ok());
  MQOTA_EXPECT(TargetIsTheNewImage());
  return nullptr;
}

const char* ResumesFromACheckpoint() {
  Load({kDeltaOld, kDeltaOldSize});
  g_first.StartFresh();
  const char* why = Feed(g_first, 0, kDeltaPatchSize, Opaque(97u), 3);
  if (why != nullptr) return why;
  const delta::Checkpoint at = g_first.checkpoint();
  MQOTA_EXPECT(at.next_block == 3);
  MQOTA_EXPECT(g_second.Resume(g_first.header(), at).ok());
  why = Feed(g_second, at.patch_offset, kDeltaPatchSize, Opaque(13u), 0);
  if (why != nullptr) return why;
  MQOTA_EXPECT(g_second.done());
  MQOTA_EXPECT(TargetIsTheNewImage());
  return nullptr;
}

const char* RefusesAWrongSource() {
  Load({kDeltaNew, kDeltaNewSize});  // the target is not the source
  g_first.StartFresh();
  MQOTA_EXPECT(Feed(g_first, 0, kDeltaPatchSize, 256, 0) != nullptr);
  MQOTA_EXPECT(!g_first.done());
  return nullptr;
}

constexpr Check kChecks[] = {
    {"applies_the_hosts_patch", AppliesTheHostsPatch},
    {"resumes_from_a_checkpoint", ResumesFromACheckpoint},
    {"refuses_a_wrong_source", RefusesAWrongSource},
};

}  // namespace

Layer DeltaChecks() { return {"delta", kChecks}; }

}  // namespace mqota::selftest
