// mqota::boot on the target: the bootloader core (Boot(), the three upgrade
// algorithms, the application's SetPending/SetConfirmed, the boot record) run
// on the emulated Cortex-M4 with real images, on a RamFlash with a small but
// realistic layout:
//
//   4 KiB sectors, 8-byte program unit, erased 0xFF, 17 sectors (68 KiB)
//   swap-scratch, overwrite-only: primary 0..7, secondary 8..15, scratch 16
//   swap-move:                    primary 0..8 (one spare), secondary 9..16
//   trailers: W = 8, M = 8, max_sectors = 16 (432 bytes)
//
// The images: A is imgtool's ecdsa-v1.2.3+4.bin (embedded in flash; its
// recorded facts in vector_image.h, checked by image_checks.cpp); B is derived
// from it at run time in static RAM, with another version in the header
// (2.0.1+5) and the SHA256 TLV recomputed, so both validate hash-only. There is
// no P-256 on the target (no mbedTLS for arm-none-eabi in Debian), so the
// bootloader runs with require_signature = false, the development switch, and
// DowngradePolicy::kAllow; B's ECDSA signature no longer matches, which nothing
// here checks. Signed boots are the host's (boot/tests/swap_boot_test.cpp).
//
// The chip and image B are static: the stack is 8 KiB and belongs to the
// bootloader. A counting FlashDevice in front of the RamFlash tells "the boot
// changed nothing" from "the boot rewrote the same bytes".
#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>
#include <span>

#include "check.h"
#include "layers.h"
#include "message.h"
#include "mqota/base/endian.h"
#include "mqota/boot/app_api.h"
#include "mqota/boot/boot_record.h"
#include "mqota/boot/bootloader.h"
#include "mqota/boot/error.h"
#include "mqota/boot/overwrite_only.h"
#include "mqota/boot/swap_algorithm.h"
#include "mqota/boot/swap_move.h"
#include "mqota/boot/swap_scratch.h"
#include "mqota/boot/swap_type.h"
#include "mqota/boot/trailer.h"
#include "mqota/flash/error.h"
#include "mqota/flash/flash_area.h"
#include "mqota/flash/flash_device.h"
#include "mqota/flash/ram_flash.h"
#include "mqota/image/error.h"
#include "mqota/image/format.h"
#include "mqota/image/image_source.h"
#include "mqota/image/layout.h"
#include "mqota/image/tlv.h"
#include "mqota/image/validate.h"
#include "mqota/image/version.h"
#include "mqota/qemu_mps2/stack.h"
#include "sha256.h"
#include "test_crypto.h"
#include "vector_image.h"

// The stack's lowest word, from the linker script (mps2-an386.ld).
extern uint32_t __stack_limit[];

namespace mqota::selftest {
namespace {

using boot::BootOutcome;
using boot::BootResult;
using boot::RejectReason;
using boot::SwapType;
using image::ImageErrc;
using image::ImageVersion;

// --- The images -----------------------------------------------------------

// A is the vector as recorded (vector_image.h); B is A with this version.
constexpr ImageVersion kVersionA = kImageVersion;
constexpr ImageVersion kVersionB{2, 0, 1, 5};

alignas(4) std::array<uint8_t, kImageBytes> g_image_b;
bool g_image_b_made = false;

// --- Failure messages -----------------------------------------------------

// A failure sentence (message.h) that names the error Boot() or a trailer
// call returned, with the flash or image error under it.
const char* BootFailure(const char* expectation, const boot::BootError& error) {
  Message& m = Message::Begin(expectation).Add(", got: ").Add(boot::Describe(error.code));
  if (error.code == boot::BootErrc::kFlash) {
    m.Add(" (").Add(flash::Describe(error.flash.op)).Add(" at ").Dec(error.flash.offset);
    m.Add(": ").Add(flash::Describe(error.flash.code)).Add(")");
  } else if (error.code == boot::BootErrc::kNoBootableImage) {
    m.Add(" (").Add(image::Describe(error.image.code)).Add(" at offset ");
    m.Dec(error.image.offset).Add(")");
  }
  return m.c_str();
}

// Inside a check: returns the failure a helper reported, if any.
#define RETURN_IF_FAILED(expression)                  \
  do {                                                \
    if (const char* why_ = (expression)) return why_; \
  } while (false)

// Inside a check: fails it unless `result` (a BootResult or BootStatus) is ok.
#define EXPECT_BOOT_OK(result)                                                                    \
  do {                                                                                            \
    const auto& checked_ = (result);                                                              \
    if (!checked_.ok()) return BootFailure(MQOTA_SELFTEST_WHERE #result " ok", checked_.error()); \
  } while (false)

#define EXPECT_SWAP(outcome, want)                           \
  do {                                                       \
    if ((outcome).swap != (want)) {                          \
      return Message::Begin(MQOTA_SELFTEST_WHERE "swap == ") \
          .Add(boot::Describe(want))                         \
          .Add(", got: ")                                    \
          .Add(boot::Describe((outcome).swap))               \
          .c_str();                                          \
    }                                                        \
  } while (false)

#define EXPECT_BOOTED_VERSION(outcome, want)                           \
  do {                                                                 \
    if ((outcome).layout.header.version != (want)) {                   \
      return Message::Begin(MQOTA_SELFTEST_WHERE "booted version == ") \
          .Version(want)                                               \
          .Add(", got: ")                                              \
          .Version((outcome).layout.header.version)                    \
          .c_str();                                                    \
    }                                                                  \
  } while (false)

#define EXPECT_REJECTED(outcome, want)                                           \
  do {                                                                           \
    if ((outcome).rejected != (want)) {                                          \
      return Message::Begin(MQOTA_SELFTEST_WHERE "rejected == " #want ", got: ") \
          .Add(boot::Describe((outcome).rejected))                               \
          .c_str();                                                              \
    }                                                                            \
  } while (false)

// --- The flash --------------------------------------------------------------

constexpr uint32_t kSectorBytes = 4096;
constexpr uint32_t kChipSectors = 17;
constexpr flash::SectorRun kSectors[] = {{kChipSectors, kSectorBytes}};
constexpr flash::FlashGeometry kGeometry{kSectors, 8, 0xFF};
constexpr boot::TrailerGeometry kTrailer{8, 8, 16};
alignas(4) std::array<uint8_t, kChipSectors * kSectorBytes> g_chip;

// The RamFlash with write and erase counters in front.
class CountingFlash final : public flash::FlashDevice {
 public:
  explicit CountingFlash(flash::RamFlash& ram) : FlashDevice(ram.geometry()), ram_(ram) {}
  uint32_t changes() const { return writes_ + erases_; }
  void ResetCounters() { writes_ = erases_ = 0; }

 private:
  flash::FlashStatus DoRead(uint32_t offset, std::span<uint8_t> out) override {
    return ram_.Read(offset, out);
  }
  flash::FlashStatus DoWrite(uint32_t offset, std::span<const uint8_t> data) override {
    ++writes_;
    return ram_.Write(offset, data);
  }
  flash::FlashStatus DoErase(uint32_t offset, uint32_t size_bytes) override {
    ++erases_;
    return ram_.Erase(offset, size_bytes);
  }

  flash::RamFlash& ram_;
  uint32_t writes_ = 0;
  uint32_t erases_ = 0;
};

struct SlotLayout {
  uint32_t primary_sectors;
  uint32_t secondary_sectors;
  uint32_t scratch_sectors;
};
constexpr SlotLayout kScratchLayout{8, 8, 1};
constexpr SlotLayout kMoveLayout{9, 8, 0};
constexpr SlotLayout kOverwriteLayout{8, 8, 0};

// --- The bootloader's own stack -------------------------------------------

// The port's high-water mark covers the whole self-test; this is Boot()'s own
// need: before each call the free stack below the caller's frame is painted
// again (the port's pattern), after it the deepest word written is found.
// Measured with this file's hash-only backend: a device's crypto backend
// (mbedTLS with P-256 verification) adds its own frames under ValidateImage.
constexpr uint32_t kBootStackBudgetBytes = 3584;
uint32_t g_boot_stack_peak = 0;

[[gnu::noinline]] BootResult<BootOutcome> MeasuredBoot(const boot::BootConfig& config) {
  using qemu_mps2::kStackPaint;
  uint32_t* sp;
  asm volatile("mov %0, sp" : "=r"(sp));
  // The deepest word the port's high-water mark has seen so far: repainting
  // would erase it, so it is marked used again afterwards.
  volatile uint32_t* const port_mark =
      __stack_limit + (qemu_mps2::StackSizeBytes() - qemu_mps2::StackUsedBytes()) / 4;
  // Volatile: not turned into a memset call, which would run below sp.
  for (volatile uint32_t* p = __stack_limit; p < sp;) *p++ = kStackPaint;
  BootResult<BootOutcome> outcome = boot::Boot(config);
  const volatile uint32_t* deepest = __stack_limit;
  while (deepest < sp && *deepest == kStackPaint) ++deepest;
  const auto used =
      static_cast<uint32_t>(reinterpret_cast<uintptr_t>(sp) - reinterpret_cast<uintptr_t>(deepest));
  g_boot_stack_peak = std::max(g_boot_stack_peak, used);
  if (port_mark < deepest) *port_mark = ~kStackPaint;
  return outcome;
}

// A freshly erased chip with the three areas of `layout` and a boot
// configuration for `algorithm`. Not copyable: the context refers to the areas.
class Rig {
 public:
  Rig(const SlotLayout& layout, boot::SwapAlgorithm& algorithm)
      : ram_(kGeometry, g_chip),
        chip_(ram_),
        primary_(chip_, 0, layout.primary_sectors * kSectorBytes),
        secondary_(chip_, primary_.size_bytes(), layout.secondary_sectors * kSectorBytes),
        scratch_(chip_, primary_.size_bytes() + secondary_.size_bytes(),
                 layout.scratch_sectors * kSectorBytes),
        config_{boot::SwapContext{primary_, secondary_,
                                  layout.scratch_sectors != 0 ? &scratch_ : nullptr, kTrailer, 0},
                &algorithm,
                &crypto_,
                {},
                boot::DowngradePolicy::kAllow,
                nullptr,
                /*require_signature=*/false} {}
  Rig(const Rig&) = delete;
  Rig& operator=(const Rig&) = delete;

  BootResult<BootOutcome> Boot() { return MeasuredBoot(config_); }

  const flash::FlashArea& primary() const { return primary_; }
  const flash::FlashArea& secondary() const { return secondary_; }
  boot::Trailer primary_trailer() const { return {primary_, kTrailer}; }
  boot::Trailer secondary_trailer() const { return {secondary_, kTrailer}; }
  CountingFlash& chip() { return chip_; }
  const HashOnlyCrypto& crypto() const { return crypto_; }
  bool usable() const {
    return primary_.IsValid() && secondary_.IsValid() &&
           (config_.context.scratch == nullptr || scratch_.IsValid()) &&
           config_.algorithm->IsCompatible(config_.context) &&
           config_.algorithm->MaxImageSize(config_.context) >= kImageBytes;
  }
  // The bytes of `area`, straight from the RAM under the chip.
  std::span<uint8_t> Bytes(const flash::FlashArea& area) {
    return std::span(g_chip).subspan(area.offset_bytes(), area.size_bytes());
  }

 private:
  flash::RamFlash ram_;
  CountingFlash chip_;
  flash::FlashArea primary_;
  flash::FlashArea secondary_;
  flash::FlashArea scratch_;
  HashOnlyCrypto crypto_;
  boot::BootConfig config_;
};

// Erases `area` and writes `image` at its start: whole program units, the tail
// padded with the erased value.
const char* Place(const char* where, const flash::FlashArea& area, std::span<const uint8_t> image) {
  const uint32_t aligned = static_cast<uint32_t>(image.size()) / 8 * 8;
  std::array<uint8_t, 8> tail;
  tail.fill(0xFF);
  std::copy(image.begin() + aligned, image.end(), tail.begin());
  if (!area.EraseAll().ok() || !area.Write(0, image.first(aligned)).ok() ||
      (aligned < image.size() && !area.Write(aligned, tail).ok())) {
    return Message::Begin(where).Add("placing an image in a slot failed").c_str();
  }
  return nullptr;
}

// nullptr when `area` starts with exactly `image`; otherwise where it differs.
const char* SlotHolds(const char* where, Rig& rig, const flash::FlashArea& area,
                      const char* area_name, std::span<const uint8_t> image,
                      const char* image_name) {
  const std::span<const uint8_t> bytes = rig.Bytes(area).first(image.size());
  const auto diff = std::mismatch(bytes.begin(), bytes.end(), image.begin());
  if (diff.first == bytes.end()) return nullptr;
  return Message::Begin(where)
      .Add(area_name)
      .Add(" holds image ")
      .Add(image_name)
      .Add(", got: a different byte at offset ")
      .Dec(static_cast<uint32_t>(diff.first - bytes.begin()))
      .c_str();
}

#define EXPECT_SLOT(rig, area, image) \
  RETURN_IF_FAILED(                   \
      SlotHolds(MQOTA_SELFTEST_WHERE, (rig), (rig).area(), #area, Image##image(), #image))

// --- Image B ----------------------------------------------------------------

std::span<const uint8_t> ImageA() { return kImage; }
std::span<const uint8_t> ImageB() { return g_image_b; }

// Makes B from A (once): the version bytes at offset 20..27 rewritten, the
// SHA256 TLV's value (found through ParseLayout and the TLV iterator)
// recomputed over [0, hashed_size). Both then validate hash-only.
const char* MakeImageB() {
  if (g_image_b_made) return nullptr;
  std::copy(kImage.begin(), kImage.end(), g_image_b.begin());
  g_image_b[image::kOffVersionMajor] = kVersionB.major;
  g_image_b[image::kOffVersionMinor] = kVersionB.minor;
  StoreLe16(g_image_b, image::kOffVersionRevision, kVersionB.revision);
  StoreLe32(g_image_b, image::kOffVersionBuild, kVersionB.build);

  image::MemoryImageSource source(g_image_b);
  const auto layout = image::ParseLayout(source);
  MQOTA_EXPECT(layout.ok());
  image::TlvIterator it(source, *layout, image::TlvIterator::Block::kUnprotected);
  std::optional<uint32_t> sha_offset;
  while (!sha_offset) {
    const auto entry = it.Next();
    MQOTA_EXPECT(entry.ok() && entry->has_value());  // the SHA256 TLV exists
    if ((*entry)->type == image::tlv::kSha256 && (*entry)->length == 32) {
      sha_offset = (*entry)->value_offset;
    }
  }
  MQOTA_EXPECT(*sha_offset == kSha256TlvValueOffset);
  const Digest digest = Sha256Of(std::span(g_image_b).first(layout->hashed_size));
  std::copy(digest.begin(), digest.end(), g_image_b.begin() + *sha_offset);

  // Both images validate with the bootloader's options, and only B is B.
  HashOnlyCrypto crypto;
  for (const std::span<const uint8_t> bytes : {ImageA(), ImageB()}) {
    image::MemoryImageSource each(bytes);
    const auto valid = image::ValidateImage(each, crypto, HashOnlyOptions());
    if (!valid.ok()) {
      return Message::Begin(MQOTA_SELFTEST_WHERE "image ")
          .Add(bytes.data() == g_image_b.data() ? "B" : "A")
          .Add(" validates hash-only, got: ")
          .Add(image::Describe(valid.error().code))
          .c_str();
    }
  }
  image::MemoryImageSource b(g_image_b);
  const auto parsed = image::ParseLayout(b);
  MQOTA_EXPECT(parsed.ok() && parsed->header.version == kVersionB);
  g_image_b_made = true;
  return nullptr;
}

// A in the primary, B in the secondary, a TEST request (SetPending) for B.
const char* InstallAWithPendingB(Rig& rig, bool permanent = false) {
  RETURN_IF_FAILED(MakeImageB());
  MQOTA_EXPECT(rig.usable());
  RETURN_IF_FAILED(Place(MQOTA_SELFTEST_WHERE, rig.primary(), ImageA()));
  RETURN_IF_FAILED(Place(MQOTA_SELFTEST_WHERE, rig.secondary(), ImageB()));
  EXPECT_BOOT_OK(boot::SetPending(rig.secondary_trailer(), permanent));
  return nullptr;
}

// The first boot after InstallAWithPendingB: a TEST swap that leaves B on
// trial in the primary and A in the secondary, in the canonical end state.
const char* TestUpgradeToB(Rig& rig, BootOutcome* out = nullptr) {
  RETURN_IF_FAILED(InstallAWithPendingB(rig));
  const auto outcome = rig.Boot();
  EXPECT_BOOT_OK(outcome);
  EXPECT_SWAP(*outcome, SwapType::kTest);
  EXPECT_BOOTED_VERSION(*outcome, kVersionB);
  MQOTA_EXPECT(!outcome->confirmed);  // on trial
  MQOTA_EXPECT(!outcome->resumed);
  EXPECT_REJECTED(*outcome, RejectReason::kNone);
  EXPECT_SLOT(rig, primary, B);
  EXPECT_SLOT(rig, secondary, A);
  const auto state = boot::ReadSwapState(rig.primary_trailer(), rig.secondary_trailer());
  EXPECT_BOOT_OK(state);
  MQOTA_EXPECT(state->primary.magic == boot::MagicState::kGood);
  MQOTA_EXPECT(state->primary.copy_done == boot::FlagState::kSet);
  MQOTA_EXPECT(state->primary.image_ok == boot::FlagState::kUnset);
  MQOTA_EXPECT(state->secondary.magic == boot::MagicState::kUnset);
  MQOTA_EXPECT(state->running_unconfirmed && state->next_boot == SwapType::kRevert);
  MQOTA_EXPECT(rig.crypto().verify_calls == 0);  // hash-only: no signature checked
  if (out != nullptr) *out = *outcome;
  return nullptr;
}

// The second boot, unconfirmed: B is reverted, A boots confirmed, B is back
// in the secondary.
const char* RevertToA(Rig& rig) {
  const auto outcome = rig.Boot();
  EXPECT_BOOT_OK(outcome);
  EXPECT_SWAP(*outcome, SwapType::kRevert);
  EXPECT_BOOTED_VERSION(*outcome, kVersionA);
  MQOTA_EXPECT(outcome->confirmed);
  EXPECT_REJECTED(*outcome, RejectReason::kNone);
  EXPECT_SLOT(rig, primary, A);
  EXPECT_SLOT(rig, secondary, B);
  return nullptr;
}

// A boot with nothing to do: `version` boots, no write, no erase, no byte of
// the chip changed.
const char* BootChangesNothing(Rig& rig, const ImageVersion& version) {
  const Digest before = Sha256Of(g_chip);
  rig.chip().ResetCounters();
  const auto outcome = rig.Boot();
  EXPECT_BOOT_OK(outcome);
  EXPECT_SWAP(*outcome, SwapType::kNone);
  EXPECT_BOOTED_VERSION(*outcome, version);
  MQOTA_EXPECT(outcome->confirmed);
  EXPECT_REJECTED(*outcome, RejectReason::kNone);
  if (rig.chip().changes() != 0) {
    return Message::Begin(MQOTA_SELFTEST_WHERE "no write or erase, got: ")
        .Dec(rig.chip().changes())
        .Add(" writes and erases")
        .c_str();
  }
  MQOTA_EXPECT(Sha256Of(g_chip) == before);
  return nullptr;
}

// The whole life of an upgrade never confirmed, the same for every swap
// algorithm: the TEST upgrade to B, the revert to A, then a boot with nothing
// left to do.
const char* UpgradeRevertAndSettle(Rig& rig) {
  RETURN_IF_FAILED(TestUpgradeToB(rig));
  RETURN_IF_FAILED(RevertToA(rig));
  return BootChangesNothing(rig, kVersionA);
}

// --- Checks -----------------------------------------------------------------

// (1) Swap using scratch: a TEST upgrade from A to B.
const char* ScratchTestUpgrade() {
  boot::SwapScratch algorithm;
  Rig rig(kScratchLayout, algorithm);
  return TestUpgradeToB(rig);
}

// (2) Not confirmed: the next boot reverts to A.
const char* ScratchRevertsUnconfirmed() {
  boot::SwapScratch algorithm;
  Rig rig(kScratchLayout, algorithm);
  RETURN_IF_FAILED(TestUpgradeToB(rig));
  return RevertToA(rig);
}

// (3) After the revert, one more boot has nothing to do.
const char* ScratchStableAfterRevert() {
  boot::SwapScratch algorithm;
  Rig rig(kScratchLayout, algorithm);
  return UpgradeRevertAndSettle(rig);
}

// (4) Confirmed by the application (SetConfirmed): B stays, nothing moves.
const char* ScratchConfirmedStays() {
  boot::SwapScratch algorithm;
  Rig rig(kScratchLayout, algorithm);
  RETURN_IF_FAILED(TestUpgradeToB(rig));
  EXPECT_BOOT_OK(boot::SetConfirmed(rig.primary_trailer()));
  const auto state = boot::ReadSwapState(rig.primary_trailer(), rig.secondary_trailer());
  EXPECT_BOOT_OK(state);
  MQOTA_EXPECT(!state->running_unconfirmed && state->next_boot == SwapType::kNone);
  RETURN_IF_FAILED(BootChangesNothing(rig, kVersionB));
  EXPECT_SLOT(rig, primary, B);
  return nullptr;
}

// (5) Swap using move (primary one sector larger): TEST upgrade, revert, and
// a boot with nothing left to do.
const char* MoveTestUpgradeAndRevert() {
  boot::SwapMove algorithm;
  Rig rig(kMoveLayout, algorithm);
  return UpgradeRevertAndSettle(rig);
}

// (6) Overwrite-only (fast): B is copied over A for good, the request is
// withdrawn, and the next boot has nothing to do.
const char* OverwriteFastUpgrade() {
  boot::OverwriteOnly algorithm(/*fast=*/true);
  Rig rig(kOverwriteLayout, algorithm);
  RETURN_IF_FAILED(InstallAWithPendingB(rig, /*permanent=*/true));
  const auto outcome = rig.Boot();
  EXPECT_BOOT_OK(outcome);
  EXPECT_SWAP(*outcome, SwapType::kPerm);
  EXPECT_BOOTED_VERSION(*outcome, kVersionB);
  MQOTA_EXPECT(outcome->confirmed);  // nothing to revert to
  EXPECT_SLOT(rig, primary, B);
  const auto header_erased = rig.secondary().IsErased(0, kSectorBytes);
  MQOTA_EXPECT(header_erased.ok() && *header_erased);  // the request is withdrawn...
  const auto secondary = rig.secondary_trailer().Read();
  EXPECT_BOOT_OK(secondary);
  MQOTA_EXPECT(secondary->magic == boot::MagicState::kUnset);  // ...trailer and all
  return BootChangesNothing(rig, kVersionB);
}

// (7) The boot record of a TEST upgrade, encoded on the target: the bytes the
// host computes (boot_record.h's layout, CRC-32C from Python), and back.
const char* BootRecordRoundTrips() {
  std::array<uint8_t, 9> check = {'1', '2', '3', '4', '5', '6', '7', '8', '9'};
  Clobber(check.data());
  MQOTA_EXPECT(Crc32c(check) == 0xe3069283);

  boot::SwapScratch algorithm;
  Rig rig(kScratchLayout, algorithm);
  BootOutcome outcome;
  RETURN_IF_FAILED(TestUpgradeToB(rig, &outcome));
  const boot::BootRecord record = boot::MakeBootRecord(outcome);
  const std::array<uint8_t, boot::kBootRecordBytes> bytes = boot::EncodeBootRecord(record);
  // magic, format 1, swap TEST, flags 4 (not resumed, on trial, previous
  // version present), booted 2.0.1+5, previous 1.2.3+4, CRC.
  constexpr std::array<uint8_t, boot::kBootRecordBytes> kExpected = {
      0x6f, 0x62, 0x71, 0x6d, 0x01, 0x02, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00,
      0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x01, 0x00, 0x05, 0x00, 0x00, 0x00,
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x03, 0x00,
      0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xdd, 0xe6, 0x50, 0x13};
  const auto diff = std::mismatch(bytes.begin(), bytes.end(), kExpected.begin());
  if (diff.first != bytes.end()) {
    return Message::Begin(MQOTA_SELFTEST_WHERE
                          "encoded record == host's, got: a different byte at ")
        .Dec(static_cast<uint32_t>(diff.first - bytes.begin()))
        .c_str();
  }
  const std::optional<boot::BootRecord> decoded = boot::DecodeBootRecord(bytes);
  MQOTA_EXPECT(decoded.has_value());
  MQOTA_EXPECT(*decoded == record);
  MQOTA_EXPECT(decoded->swap == SwapType::kTest && !decoded->confirmed);
  MQOTA_EXPECT(decoded->booted_version == kVersionB);
  MQOTA_EXPECT(decoded->previous_version == kVersionA);

  std::array<uint8_t, boot::kBootRecordBytes> flipped = bytes;
  flipped[Opaque(17u)] ^= 0x01;  // the booted minor version: the CRC no longer fits
  MQOTA_EXPECT(!boot::DecodeBootRecord(flipped).has_value());
  return nullptr;
}

// (8) B with one payload byte flipped in the secondary: rejected as invalid
// (hash mismatch at the SHA256 TLV), the secondary erased, the primary not
// touched, A boots; the record carries the reason.
const char* CorruptSecondaryRejected() {
  boot::SwapScratch algorithm;
  Rig rig(kScratchLayout, algorithm);
  RETURN_IF_FAILED(InstallAWithPendingB(rig));
  rig.Bytes(rig.secondary())[kHdrSize + Opaque(4321u)] ^= 0x01;
  const Digest primary_before = Sha256Of(rig.Bytes(rig.primary()));

  const auto outcome = rig.Boot();
  EXPECT_BOOT_OK(outcome);
  EXPECT_SWAP(*outcome, SwapType::kNone);
  EXPECT_REJECTED(*outcome, RejectReason::kInvalid);
  if (outcome->image_error.code != ImageErrc::kHashMismatch ||
      outcome->image_error.offset != kSha256TlvValueOffset) {
    return Message::Begin(MQOTA_SELFTEST_WHERE "image_error == kHashMismatch at ")
        .Dec(kSha256TlvValueOffset)
        .Add(", got: ")
        .Add(image::Describe(outcome->image_error.code))
        .Add(" at ")
        .Dec(outcome->image_error.offset)
        .c_str();
  }
  EXPECT_BOOTED_VERSION(*outcome, kVersionA);
  MQOTA_EXPECT(outcome->confirmed);
  MQOTA_EXPECT(Sha256Of(rig.Bytes(rig.primary())) == primary_before);  // untouched
  EXPECT_SLOT(rig, primary, A);
  const auto erased = rig.secondary().IsErased(0, rig.secondary().size_bytes());
  MQOTA_EXPECT(erased.ok() && *erased);  // not retried at every boot

  const auto decoded =
      boot::DecodeBootRecord(boot::EncodeBootRecord(boot::MakeBootRecord(*outcome)));
  MQOTA_EXPECT(decoded.has_value() && decoded->rejected == RejectReason::kInvalid);
  MQOTA_EXPECT(decoded->image_error.code == ImageErrc::kHashMismatch);
  MQOTA_EXPECT(decoded->image_error.offset == kSha256TlvValueOffset);
  return BootChangesNothing(rig, kVersionA);
}

// Last: the deepest Boot() of the checks above (swap-scratch, swap-move and
// overwrite-only, with the hash-only crypto backend) within the budget.
const char* BootStackWithinBudget() {
  MQOTA_EXPECT(g_boot_stack_peak > 0);  // the checks above did boot
  if (g_boot_stack_peak > kBootStackBudgetBytes) {
    return Message::Begin(MQOTA_SELFTEST_WHERE "Boot() stack <= ")
        .Dec(kBootStackBudgetBytes)
        .Add(" bytes, got: ")
        .Dec(g_boot_stack_peak)
        .c_str();
  }
  return nullptr;
}

constexpr Check kChecks[] = {
    {"scratch_test_upgrade", ScratchTestUpgrade},
    {"scratch_reverts_unconfirmed", ScratchRevertsUnconfirmed},
    {"scratch_stable_after_revert", ScratchStableAfterRevert},
    {"scratch_confirmed_stays", ScratchConfirmedStays},
    {"move_test_upgrade_and_revert", MoveTestUpgradeAndRevert},
    {"overwrite_fast_upgrade", OverwriteFastUpgrade},
    {"boot_record_round_trips", BootRecordRoundTrips},
    {"corrupt_secondary_rejected", CorruptSecondaryRejected},
    {"boot_stack_within_budget", BootStackWithinBudget},
};

}  // namespace

Layer BootChecks() { return {"boot", kChecks}; }

}  // namespace mqota::selftest
