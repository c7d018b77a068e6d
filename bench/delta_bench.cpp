// mqota-bench-delta: patch sizes of mqota's delta format beside Debian's
// bsdiff and xdelta3 on the same pairs, the decoder's RAM, apply time on file
// flash, and the patch bytes fetched again after a power cut (bench/README.md).
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>

#include "delta_bench_pairs.h"
#include "mqota/delta/decoder.h"
#include "mqota/delta/verify.h"
#include "mqota/flash/nor_flash_model.h"
#include "mqota/flash/ram_flash.h"
#include "mqota/host/delta_encoder.h"
#include "mqota/ports/mbedtls/mbedtls_crypto.h"
#include "mqota/ports/posix/file_flash.h"

namespace {

namespace fs = std::filesystem;
using namespace mqota;

constexpr uint32_t kSector = 4096;         // the virtual board's sectors
constexpr uint32_t kSlotBytes = 1u << 20;  // enough for every pair
constexpr double kDemoGoal = 5.0;          // % of the full image
constexpr double kBsdiffGoal = 1.25;       // x bsdiff's size

const std::array<flash::SectorRun, 1> kRuns{{{2 * kSlotBytes / kSector, kSector}}};
const flash::FlashGeometry kGeometry{kRuns, 8, 0xFF};

struct Applied {
  bool ok = false;
  size_t stopped_at = 0;
  delta::Checkpoint checkpoint;
};

// Applies `patch` (from `resume` when given) as the agent would, in pieces.
Applied Apply(flash::FlashDevice& chip, std::span<const uint8_t> patch,
              const delta::PatchHeader* resume_header, delta::Checkpoint resume,
              size_t piece_bytes = 1024) {
  const flash::FlashArea primary(chip, 0, kSlotBytes);
  const flash::FlashArea secondary(chip, kSlotBytes, kSlotBytes);
  ports::MbedtlsCrypto crypto;
  delta::Decoder decoder(primary, secondary);
  Applied a;
  size_t at = 0;
  if (resume_header != nullptr) {
    if (!decoder.Resume(*resume_header, resume).ok()) return a;
    at = resume.patch_offset;
    a.checkpoint = resume;
  } else {
    decoder.StartFresh();
  }
  while (at < patch.size()) {
    auto piece = patch.subspan(at, std::min(piece_bytes, patch.size() - at));
    while (!piece.empty()) {
      const auto p = decoder.Feed(piece);
      if (!p.ok()) {
        a.stopped_at = at;
        return a;
      }
      piece = piece.subspan(p->consumed_bytes);
      at += p->consumed_bytes;
      if (p->event == delta::FeedEvent::kHeaderParsed &&
          !delta::CheckSource(primary, decoder.header(), crypto).ok()) {
        return a;
      }
      if (p->event != delta::FeedEvent::kNeedMore) a.checkpoint = decoder.checkpoint();
    }
  }
  a.stopped_at = at;
  a.ok = decoder.done() && delta::CheckTarget(secondary, decoder.header(), crypto).ok();
  return a;
}

// Median wall time of applying on a file-backed chip (ports/posix FileFlash).
double ApplyMsOnFileFlash(const fs::path& work, const bench::ImagePair& pair,
                          std::span<const uint8_t> patch, int runs) {
  std::vector<double> ms;
  for (int r = 0; r < runs; ++r) {
    const fs::path file = work / "file-flash.bin";
    fs::remove(file);
    auto chip =
        posix::FileFlash::Open(file.c_str(), kGeometry, posix::FileFlashMode::kCreateIfMissing);
    if (!chip.ok()) return -1;
    std::vector<uint8_t> padded(pair.source);
    padded.resize((padded.size() + 7) / 8 * 8, 0xFF);
    if (!chip->Write(0, padded).ok()) return -1;
    const auto start = std::chrono::steady_clock::now();
    const Applied a = Apply(*chip, patch, nullptr, {});
    const auto end = std::chrono::steady_clock::now();
    if (!a.ok) return -1;
    ms.push_back(std::chrono::duration<double, std::milli>(end - start).count());
  }
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

struct CutFigures {
  size_t worst_refetched = 0;
  size_t largest_block = 0;
  uint32_t operations = 0;
  uint32_t cuts = 0;
  bool all_exact = true;
};

// Cuts the power at every `step`-th flash operation of an apply (torn,
// random bytes), resumes from the checkpoint and checks the result.
CutFigures CutEverywhere(const bench::ImagePair& pair, std::span<const uint8_t> patch,
                         uint32_t step) {
  CutFigures f;
  const auto header = *host::ReadPatchHeader(patch);
  std::vector<uint8_t> storage(kGeometry.size_bytes());
  flash::RamFlash ram(kGeometry, storage);
  std::vector<uint8_t> bitmap(flash::NorFlashModel::BitmapBytes(kGeometry));
  const auto load = [&] {
    std::fill(storage.begin(), storage.end(), 0xFF);
    std::copy(pair.source.begin(), pair.source.end(), storage.begin());
  };
  load();
  flash::NorFlashModel nor(ram, bitmap);
  if (!nor.ResyncFromBacking().ok() || !Apply(nor, patch, nullptr, {}).ok) {
    f.all_exact = false;
    return f;
  }
  const uint32_t total = nor.operations();
  f.operations = total;
  for (uint32_t k = 0; k < total; k += step) {
    load();
    flash::NorFlashModel model(ram, bitmap);
    if (!model.ResyncFromBacking().ok()) return f;
    model.CutPowerAfter(k, flash::TearMode::kRandom, k + 1);
    // Fed a byte at a time, so the position where the cut stopped the
    // decoder is exact: everything it consumed past the checkpoint is
    // consumed again after the resume.
    const Applied cut = Apply(model, patch, nullptr, {}, 1);
    model.PowerOn();
    f.worst_refetched = std::max(f.worst_refetched, cut.stopped_at - cut.checkpoint.patch_offset);
    const Applied resumed = Apply(model, patch, &header, cut.checkpoint);
    const bool exact = resumed.ok && std::equal(pair.target.begin(), pair.target.end(),
                                                storage.begin() + kSlotBytes);
    f.all_exact = f.all_exact && exact && model.counters().refused == 0;
    ++f.cuts;
  }
  // The largest block's encoding: what a cut could cost at most.
  size_t at = delta::kPatchHeaderBytes;
  for (uint32_t b = 0; b < header.block_count; ++b) {
    const size_t start = at;
    uint32_t length = 0;
    for (int shift = 0; shift < 35; shift += 7) {
      const uint8_t byte = patch[at++];
      length |= uint32_t{byte & 0x7fu} << shift;
      if ((byte & 0x80u) == 0) break;
    }
    at += delta::kBlockCrcBytes + (length >> 1);  // bit 0: coded or stored
    f.largest_block = std::max(f.largest_block, at - start);
  }
  return f;
}

std::string Size(std::optional<size_t> bytes) {
  return bytes ? std::to_string(*bytes) : std::string("n/a");
}

}  // namespace

int main(int argc, char** argv) {
  bool quick = false;
  fs::path firmware = MQOTA_FIRMWARE_DIR;
  fs::path work = fs::temp_directory_path() / ("mqota-bench-delta." + std::to_string(getpid()));
  bool keep = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--quick") == 0) quick = true;
    if (std::strcmp(argv[i], "--firmware-dir") == 0 && i + 1 < argc) firmware = argv[++i];
    if (std::strcmp(argv[i], "--keep") == 0 && i + 1 < argc) {
      work = argv[++i];  // the images and baselines stay there, to look at
      keep = true;
    }
  }
  fs::create_directories(work);
  int failures = 0;
  try {
    std::vector<bench::ImagePair> pairs = bench::DemoPairs(firmware);
    for (auto& p :
         bench::SyntheticPairs(work / "synthetic", MQOTA_BIN_DIR "/mqota", quick ? 120 : 600)) {
      pairs.push_back(std::move(p));
    }
    host::DeltaOptions options;  // the default block size, as `mqota delta make`
    std::printf(
        "patch sizes, bytes (block %u bytes; goals: demo minor <= %.0f %% of the image, "
        "<= %.2fx bsdiff on every pair)\n",
        options.block_bytes, kDemoGoal, kBsdiffGoal);
    std::printf("%-22s %8s %8s %7s %8s %8s %7s %s\n", "pair", "image", "mqota", "share", "bsdiff",
                "xdelta3", "x bsd", "goals");
    std::vector<std::vector<uint8_t>> patches;
    for (const auto& pair : pairs) {
      const auto patch = host::MakeDeltaPatch(pair.source, pair.target, options);
      const auto applied = host::ApplyDeltaPatch(pair.source, patch);
      if (!applied.ok() || applied->target != pair.target) {
        std::printf("%s: the patch does not apply\n", pair.name.c_str());
        ++failures;
      }
      const auto bsd = bench::BsdiffSize(work, pair);
      const auto xd = bench::Xdelta3Size(work, pair);
      const double share =
          100.0 * static_cast<double>(patch.size()) / static_cast<double>(pair.target.size());
      const double vs_bsdiff =
          bsd ? static_cast<double>(patch.size()) / static_cast<double>(*bsd) : 0;
      std::string goals;
      if (pair.kind == "demo minor") goals += share <= kDemoGoal ? "share ok; " : "share MISSED; ";
      goals += !bsd ? "bsdiff n/a" : vs_bsdiff <= kBsdiffGoal ? "bsdiff ok" : "bsdiff MISSED";
      std::printf("%-22s %8zu %8zu %6.2f%% %8s %8s %7.2f %s\n", pair.name.c_str(),
                  pair.target.size(), patch.size(), share, Size(bsd).c_str(), Size(xd).c_str(),
                  vs_bsdiff, goals.c_str());
      patches.push_back(patch);
    }

    const size_t ram = sizeof(delta::Decoder) + 256;  // + CheckSource's stack buffer
    std::printf(
        "\napply RAM: %zu bytes (Decoder %zu + 256 of stack for the digests); goal <= %zu: %s\n",
        ram, sizeof(delta::Decoder), delta::kDecoderRamBudgetBytes,
        ram <= delta::kDecoderRamBudgetBytes ? "ok" : "MISSED");

    const double ms = ApplyMsOnFileFlash(work, pairs[0], patches[0], quick ? 1 : 5);
    std::printf(
        "apply time, %s on file flash (4 KiB sectors, W 8; both digests included): "
        "%.1f ms (median of %d)\n",
        pairs[0].name.c_str(), ms, quick ? 1 : 5);
    if (ms < 0) ++failures;

    for (size_t i = 0; i < 2; ++i) {
      const CutFigures cuts = CutEverywhere(pairs[i], patches[i], quick ? 25 : 1);
      std::printf(
          "power cut (torn) at %u of %u flash operations of %s: patch bytes fed again at worst "
          "%zu, largest block %zu; goal <= one block: %s; exact target after every resume: %s\n",
          cuts.cuts, cuts.operations, pairs[i].name.c_str(), cuts.worst_refetched,
          cuts.largest_block, cuts.worst_refetched <= cuts.largest_block ? "ok" : "MISSED",
          cuts.all_exact ? "yes" : "NO");
      if (!cuts.all_exact) ++failures;
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mqota-bench-delta: %s\n", e.what());
    failures = 1;
  }
  if (!keep) fs::remove_all(work);
  return failures == 0 ? 0 : 1;
}
