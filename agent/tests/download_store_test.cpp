// The download store on the NOR model: coverage decides completion, and a
// power cut at any flash operation (clean or torn) resumes with at most one
// sector's granules fetched again.
#include "mqota/agent/download_store.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <random>

#include "mqota/testing/random_bytes.h"
#include "mqota/testing/test_flash.h"

namespace mqota::agent {
namespace {

struct Layout {
  uint32_t sector_bytes = 4096;
  uint32_t slot_sectors = 16;
  uint32_t journal_bytes = 8192;  // two sectors: two halves
  uint32_t write_size = 8;
  uint8_t erased = 0xff;
  uint32_t granule_bytes = 4096;
  uint32_t image_bytes = 40000;
};

// Slot and journal on one chip, as on a device with one external flash.
class Device {
 public:
  explicit Device(const Layout& l)
      : layout_(l),
        runs_{{{l.slot_sectors + l.journal_bytes / l.sector_bytes, l.sector_bytes}}},
        chip_({runs_, l.write_size, l.erased}),
        slot_(chip_.model(), 0, l.slot_sectors * l.sector_bytes),
        journal_(chip_.model(), slot_.size_bytes(), l.journal_bytes) {}

  std::unique_ptr<DownloadStore> Store() {
    return std::make_unique<DownloadStore>(slot_, journal_,
                                           DownloadLimits{slot_.size_bytes() - 3120}, bitmap_);
  }
  DownloadId Id() const {
    DownloadId id;
    id.version = {1, 1, 0, 0};
    id.total_size_bytes = layout_.image_bytes;
    id.granule_bytes = layout_.granule_bytes;
    id.tag[0] = 0x42;
    return id;
  }
  std::vector<uint8_t> SlotBytes(size_t n) {
    std::vector<uint8_t> bytes(n);
    EXPECT_TRUE(slot_.Read(0, bytes).ok());
    return bytes;
  }
  flash::NorFlashModel& chip() { return chip_.model(); }

 private:
  Layout layout_;
  std::array<flash::SectorRun, 1> runs_;
  flash::testing::OwnedNorFlash chip_;
  flash::FlashArea slot_;
  flash::FlashArea journal_;
  std::array<uint8_t, 128> bitmap_{};
};

std::span<const uint8_t> GranuleData(const std::vector<uint8_t>& image, const Layout& l,
                                     uint32_t index) {
  const uint32_t offset = index * l.granule_bytes;
  return std::span(image).subspan(offset, std::min(l.granule_bytes, l.image_bytes - offset));
}

TEST(DownloadStore, CompletesByCoverageInAnyOrderWithDuplicates) {
  Layout l;
  Device device(l);
  const auto image = mqota::testing::PseudoRandomBytes(l.image_bytes, 7);
  auto store = device.Store();
  ASSERT_TRUE(store->Begin(device.Id()).ok());
  EXPECT_EQ(store->granule_count(), 10u);
  // The last distinct granule (5) completes the image; the 0 after it is a duplicate.
  std::vector<uint32_t> order = {9, 3, 3, 0, 8, 1, 9, 2, 7, 4, 6, 5, 0};
  for (size_t n = 0; n < order.size(); ++n) {
    EXPECT_EQ(store->complete(), n >= 12) << n;
    auto r = store->Write(order[n], GranuleData(image, l, order[n]));
    ASSERT_TRUE(r.ok()) << Describe(r.error().code);
  }
  EXPECT_TRUE(store->complete());
  EXPECT_EQ(device.SlotBytes(image.size()), image);
  EXPECT_EQ(device.chip().counters().refused, 0u);
  EXPECT_EQ(*store->Write(3, GranuleData(image, l, 3)), WriteOutcome::kAlreadyPresent);
}

TEST(DownloadStore, RefusesChunksThatDoNotFitTheImage) {
  Layout l;
  Device device(l);
  const auto image = mqota::testing::PseudoRandomBytes(l.image_bytes, 7);
  auto store = device.Store();
  EXPECT_EQ(store->Write(0, GranuleData(image, l, 0)).error().code, DownloadErrc::kNotStarted);
  ASSERT_TRUE(store->Begin(device.Id()).ok());
  EXPECT_EQ(store->Write(10, GranuleData(image, l, 0)).error().code, DownloadErrc::kBadIndex);
  EXPECT_EQ(store->Write(9, GranuleData(image, l, 0)).error().code, DownloadErrc::kBadLength);
  EXPECT_EQ(store->Write(0, GranuleData(image, l, 9)).error().code, DownloadErrc::kBadLength);
  DownloadId big = device.Id();
  big.total_size_bytes = 16 * 4096;  // the slot, trailer included
  EXPECT_EQ(device.Store()->Begin(big).error().code, DownloadErrc::kTooLarge);
  DownloadId odd = device.Id();
  odd.granule_bytes = 1004;  // not a multiple of the write size 8
  EXPECT_EQ(device.Store()->Begin(odd).error().code, DownloadErrc::kBadGranule);
}

TEST(DownloadStore, ResumesTheSameDownloadAndRestartsAnotherOne) {
  Layout l;
  Device device(l);
  const auto image = mqota::testing::PseudoRandomBytes(l.image_bytes, 7);
  auto first = device.Store();
  ASSERT_TRUE(first->Begin(device.Id()).ok());
  for (uint32_t i : {0u, 1u, 5u, 9u}) ASSERT_TRUE(first->Write(i, GranuleData(image, l, i)).ok());

  auto resumed = device.Store();
  auto present = resumed->Begin(device.Id());
  ASSERT_TRUE(present.ok());
  EXPECT_EQ(*present, 4u);
  EXPECT_EQ(resumed->NextMissing(0), 2u);
  for (uint32_t i = 0; i < 10; ++i) ASSERT_TRUE(resumed->Write(i, GranuleData(image, l, i)).ok());
  EXPECT_TRUE(resumed->complete());
  EXPECT_EQ(device.SlotBytes(image.size()), image);
  EXPECT_EQ(device.chip().counters().refused, 0u);

  DownloadId other = device.Id();
  other.tag[0] = 0x43;  // another build
  auto fresh = device.Store();
  EXPECT_EQ(*fresh->Begin(other), 0u);
  ASSERT_TRUE(fresh->Forget().ok());
  EXPECT_EQ(*device.Store()->Begin(device.Id()), 0u);  // forgotten: nothing to resume
}

// A patch download's journal (docs/spec/progress-journal.md#patch-downloads):
// nothing to resume before the first checkpoint; afterwards the last one
// saved, with the patch header, across compactions of the journal.
TEST(DownloadStore, APatchResumesAtItsLastCheckpointAcrossCompactions) {
  Layout l;
  Device device(l);
  DownloadId id = device.Id();
  id.total_size_bytes = 9000;  // the patch's length
  auto first = device.Store();
  auto begun = first->BeginPatch(id);
  ASSERT_TRUE(begun.ok());
  EXPECT_FALSE(begun->has_value());
  EXPECT_FALSE(first->complete());
  EXPECT_FALSE(device.Store()->BeginPatch(id)->has_value());  // no checkpoint yet

  auto store = device.Store();
  ASSERT_FALSE(store->BeginPatch(id)->has_value());
  PatchProgress progress;
  for (size_t i = 0; i < progress.header.size(); ++i) {
    progress.header[i] = static_cast<uint8_t>(i * 7);
  }
  // A half holds about 250 checkpoints: 600 compact twice.
  for (uint32_t block = 1; block <= 600; ++block) {
    progress.checkpoint = {block, 112 + block * 13};
    ASSERT_TRUE(store->SavePatchProgress(progress).ok()) << block;
  }
  auto resumed = device.Store()->BeginPatch(id);
  ASSERT_TRUE(resumed.ok());
  ASSERT_TRUE(resumed->has_value());
  EXPECT_EQ((*resumed)->header, progress.header);
  EXPECT_EQ((*resumed)->checkpoint, (delta::Checkpoint{600, 112 + 600 * 13}));
  EXPECT_EQ(device.chip().counters().refused, 0u);

  // Another patch, or an image download, does not take it for its own.
  DownloadId other = id;
  other.tag[0] ^= 1;
  EXPECT_FALSE(device.Store()->BeginPatch(other)->has_value());
  ASSERT_TRUE(device.Store()->BeginPatch(id).ok());
  EXPECT_FALSE(device.Store()->BeginPatch(id)->has_value());  // the fresh start erased it
  auto saved = device.Store();
  ASSERT_TRUE(saved->BeginPatch(id).ok());
  ASSERT_TRUE(saved->SavePatchProgress(progress).ok());
  DownloadId image = id;
  image.total_size_bytes = l.image_bytes;
  EXPECT_EQ(*device.Store()->Begin(image), 0u);
  EXPECT_FALSE(device.Store()->BeginPatch(id)->has_value());
}

struct CutCase {
  const char* name;
  Layout layout;
  flash::TearMode tear;
};

class DownloadStoreCuts : public ::testing::TestWithParam<CutCase> {};

// Downloads in order; the power is cut after k flash operations (clean or
// torn); a new store resumes; the rest is downloaded. For every k the image
// ends byte-exact, no write ever hits an unerased byte, and the granules lost
// are at most those sharing the interrupted sector plus the one in flight.
TEST_P(DownloadStoreCuts, EveryCutResumesLosingAtMostOneSector) {
  const Layout l = GetParam().layout;
  const auto image = mqota::testing::PseudoRandomBytes(l.image_bytes, 11);
  const uint32_t granules = (l.image_bytes + l.granule_bytes - 1) / l.granule_bytes;
  const uint32_t per_sector = std::max(1u, l.sector_bytes / l.granule_bytes);
  uint32_t total = 0;
  {
    Device device(l);
    auto store = device.Store();
    ASSERT_TRUE(store->Begin(device.Id()).ok());
    for (uint32_t i = 0; i < granules; ++i)
      ASSERT_TRUE(store->Write(i, GranuleData(image, l, i)).ok());
    total = device.chip().operations();
  }
  uint32_t worst_loss = 0;
  for (uint32_t k = 0; k < total; ++k) {
    SCOPED_TRACE("cut after " + std::to_string(k) + " of " + std::to_string(total));
    Device device(l);
    device.chip().CutPowerAfter(k, GetParam().tear, k + 1);
    uint32_t written = 0;
    {
      auto store = device.Store();
      if (store->Begin(device.Id()).ok()) {
        for (uint32_t i = 0; i < granules && store->Write(i, GranuleData(image, l, i)).ok(); ++i) {
          ++written;
        }
      }
    }
    device.chip().PowerOn();
    auto store = device.Store();
    auto present = store->Begin(device.Id());
    ASSERT_TRUE(present.ok()) << Describe(present.error().code);
    // The granule in flight may count as present: its bytes were complete
    // before its journal entry, and that entry landed whole.
    EXPECT_LE(*present, written + 1);
    const uint32_t lost = written > *present ? written - *present : 0;
    worst_loss = std::max(worst_loss, lost);
    EXPECT_LE(lost, per_sector + 1);
    for (uint32_t i = 0; i < granules; ++i) {
      auto r = store->Write(i, GranuleData(image, l, i));
      ASSERT_TRUE(r.ok()) << "granule " << i << ": " << Describe(r.error().code);
    }
    ASSERT_TRUE(store->complete());
    EXPECT_EQ(device.SlotBytes(image.size()), image);
    EXPECT_EQ(device.chip().counters().refused, 0u);
    if (HasFailure()) return;
  }
  std::printf("%s: %u cut points, at most %u granules fetched again\n", GetParam().name, total,
              worst_loss);
}

Layout SmallGranules() {  // 1 KiB chunks in 4 KiB sectors: dirty-sector revocation
  Layout l;
  l.granule_bytes = 1024;
  l.image_bytes = 20000;
  return l;
}
Layout BigGranules() {  // 8 KiB chunks over 4 KiB sectors
  Layout l;
  l.granule_bytes = 8192;
  return l;
}
Layout TinyJournal() {  // the log fills up and is compacted, repeatedly
  Layout l;
  l.sector_bytes = 512;
  l.slot_sectors = 96;
  l.journal_bytes = 1024;
  l.granule_bytes = 256;
  l.image_bytes = 30000;
  return l;
}
Layout ByteWrites() {
  Layout l;
  l.write_size = 1;
  l.erased = 0x00;
  return l;
}

INSTANTIATE_TEST_SUITE_P(
    Layouts, DownloadStoreCuts,
    ::testing::Values(CutCase{"Reference", Layout{}, flash::TearMode::kNone},
                      CutCase{"ReferenceTornPrefix", Layout{}, flash::TearMode::kPrefix},
                      CutCase{"ReferenceTornRandom", Layout{}, flash::TearMode::kRandom},
                      CutCase{"SmallGranulesTorn", SmallGranules(), flash::TearMode::kRandom},
                      CutCase{"BigGranules", BigGranules(), flash::TearMode::kPrefix},
                      CutCase{"TinyJournalCompaction", TinyJournal(), flash::TearMode::kRandom},
                      CutCase{"ByteWritesErased00", ByteWrites(), flash::TearMode::kRandom}),
    [](const auto& param_info) { return std::string(param_info.param.name); });

}  // namespace
}  // namespace mqota::agent
