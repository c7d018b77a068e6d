// mqota::image on the target: a real MCUboot image made by imgtool
// (tests/vectors/imgtool/ecdsa-v1.2.3+4.bin, facts in expected.json there)
// parsed, walked and validated by the code the bootloader will run, with a
// real SHA-256 (sha256.h), from memory and through a FlashArea.
//
// The image is embedded at build time (embed_file.cmake makes
// imgtool_ecdsa_image.{h,cpp}): a const array in flash (.rodata), not RAM,
// defined in its own translation unit so nothing here is folded at compile
// time. Checks that change bytes work on a copy in static RAM.
//
// Signature verification on the target is out of scope: there is no P-256
// implementation for arm-none-eabi here (Debian packages no mbedTLS for it), so
// the backend's Verify answers kUnsupported. The host tests verify this
// image's signature (image/tests/vector_test.cpp).
#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string_view>

#include "check.h"
#include "imgtool_ecdsa_image.h"
#include "layers.h"
#include "mqota/flash/flash_area.h"
#include "mqota/flash/ram_flash.h"
#include "mqota/image/crypto.h"
#include "mqota/image/error.h"
#include "mqota/image/format.h"
#include "mqota/image/image_source.h"
#include "mqota/image/layout.h"
#include "mqota/image/tlv.h"
#include "mqota/image/validate.h"
#include "mqota/image/version.h"
#include "sha256.h"

namespace mqota::selftest {
namespace {

using image::ImageErrc;
using image::ImageLayout;
using image::ImageResult;
using image::ImageVersion;
using image::MemoryImageSource;
using image::ValidatedImage;
using image::ValidationOptions;

using Digest = std::array<uint8_t, 32>;

// --- What expected.json records for ecdsa-v1.2.3+4.bin ---------------------

constexpr std::span<const uint8_t> kImage(vectors::kEcdsaImage);
constexpr uint32_t kImageBytes = 21174;  // file_size == image_end
constexpr uint32_t kHdrSize = 0x400;
constexpr uint32_t kImgSize = 20000;
constexpr uint32_t kHashedSize = 21024;  // header + padding + payload, no protected TLVs
constexpr uint32_t kTlvTot = 150;
// Where the SHA256 TLV's value lies: ValidateImage reports a mismatch there.
constexpr uint32_t kSha256TlvValueOffset = kHashedSize + 4 + 4;

// file_sha256: the whole file, to prove the embedded copy is the file.
constexpr Digest kFileSha256 = {0x29, 0x9e, 0x11, 0xf9, 0xcf, 0xd3, 0x71, 0xef, 0xc4, 0x73, 0x31,
                                0x3d, 0x61, 0x9c, 0x4d, 0xc7, 0x42, 0x90, 0x9a, 0xf4, 0xe2, 0x98,
                                0x08, 0xf2, 0xd7, 0xfd, 0x64, 0x31, 0x3c, 0xc8, 0xdf, 0x57};
// sha256_digest: the hashed region [0, 21024).
constexpr Digest kImageDigest = {0x1f, 0xb2, 0x10, 0xf9, 0xce, 0xa4, 0xb1, 0x7e, 0x76, 0xb6, 0x2e,
                                 0x87, 0x71, 0x8f, 0x46, 0x2d, 0x85, 0xd7, 0x75, 0x28, 0xcb, 0x52,
                                 0x80, 0xd9, 0x66, 0x09, 0x94, 0x94, 0x4d, 0xb1, 0x54, 0xcd};
// keys.ecdsa-p256.spki_der_hex: the key that signed the image (a TEST key).
constexpr std::array<uint8_t, 91> kEcdsaPublicKeyDer = {
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00, 0x04, 0x87, 0x35, 0x50, 0x50, 0xc5,
    0x3d, 0xad, 0x0c, 0x4f, 0x0b, 0x36, 0xdb, 0xe2, 0x0f, 0x05, 0x84, 0x8f, 0x99, 0xf5, 0x5f, 0x13,
    0x85, 0x67, 0x2b, 0x12, 0x48, 0x6b, 0x6f, 0xff, 0xa0, 0x1c, 0x0a, 0xb0, 0x32, 0x99, 0xb2, 0x31,
    0x6d, 0x1a, 0xcf, 0x3a, 0x36, 0xd1, 0x83, 0x24, 0xa4, 0x88, 0x66, 0xb1, 0x8e, 0xa4, 0xe0, 0x90,
    0xdc, 0x08, 0x85, 0x83, 0xae, 0x61, 0xca, 0xf1, 0xcc, 0x51, 0x44};

struct RecordedTlv {
  uint16_t type;
  uint16_t length;
  uint32_t value_offset;
};
// The unprotected block, in order: SHA256, KEYHASH, ECDSA_SIG.
constexpr RecordedTlv kRecordedTlvs[] = {
    {image::tlv::kSha256, 32, kHashedSize + 4 + 4},
    {image::tlv::kKeyHash, 32, kHashedSize + 4 + 36 + 4},
    {image::tlv::kEcdsaSig, 70, kHashedSize + 4 + 36 + 36 + 4},
};

// --- Helpers --------------------------------------------------------------

// The image layer's crypto seam with a real SHA-256 and no signature
// verification (see the top of this file). Verify records its call so a check
// can see that validation reached it with the right key and signature.
class HashOnlyCrypto final : public image::CryptoBackend {
 public:
  void Sha256Start() override { sha_.Start(); }
  void Sha256Update(std::span<const uint8_t> data) override { sha_.Update(data); }
  void Sha256Finish(image::Sha256Digest digest) override { sha_.Finish(digest); }

  image::SignatureCheck Verify(image::SignatureType type, std::span<const uint8_t> public_key_der,
                               image::ConstSha256Digest /*digest*/,
                               std::span<const uint8_t> signature) override {
    ++verify_calls;
    last_type = type;
    last_key_bytes = public_key_der.size();
    last_signature_bytes = signature.size();
    return image::SignatureCheck::kUnsupported;  // no P-256 on the target (yet)
  }

  uint32_t verify_calls = 0;
  image::SignatureType last_type = image::SignatureType::kEd25519;
  size_t last_key_bytes = 0;
  size_t last_signature_bytes = 0;

 private:
  selftest::Sha256 sha_;  // qualified: CryptoBackend::Sha256 hides the class name
};

ValidationOptions HashOnlyOptions() {
  ValidationOptions options;
  options.require_signature = false;
  return options;
}

Digest Sha256Of(std::span<const uint8_t> data) {
  Sha256 sha;
  sha.Update(data);
  Digest digest{};
  sha.Finish(digest);
  return digest;
}

std::span<const uint8_t> Text(std::string_view text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

// A failure message that names the error the image layer returned, e.g.
// "image_checks.cpp:241: layout ok, got: the image is truncated: it ends
// before its declared size (offset 12)". Built in a static buffer, which the
// runner prints before the next check runs.
const char* ImageFailure(const char* expectation, const image::ImageError& error) {
  static std::array<char, 256> text;
  size_t used = 0;
  const auto append = [&](const char* part) {
    for (; *part != '\0' && used + 1 < text.size(); ++part) text[used++] = *part;
  };
  std::array<char, 11> digits{};  // a uint32_t in decimal, and a NUL
  size_t first = digits.size() - 1;
  uint32_t offset = error.offset;
  do {
    digits[--first] = static_cast<char>('0' + offset % 10);
    offset /= 10;
  } while (offset != 0);
  append(expectation);
  append(", got: ");
  append(image::Describe(error.code));
  append(" (offset ");
  append(&digits[first]);
  append(")");
  text[used] = '\0';
  return text.data();
}

#define MQOTA_IMAGE_WHERE __FILE_NAME__ ":" MQOTA_SELFTEST_STR(__LINE__) ": "

// Inside a check: fails it unless `result` (an ImageResult or ImageStatus) is
// ok, naming the error it holds.
#define EXPECT_IMAGE_OK(result)                                                                 \
  do {                                                                                          \
    const auto& checked_ = (result);                                                            \
    if (!checked_.ok()) return ImageFailure(MQOTA_IMAGE_WHERE #result " ok", checked_.error()); \
  } while (false)

// Inside a check: fails it unless `result` failed with `errc` at offset `at`.
#define EXPECT_IMAGE_ERROR(result, errc, at)                                              \
  do {                                                                                    \
    const auto& checked_ = (result);                                                      \
    if (checked_.ok()) return MQOTA_IMAGE_WHERE #result " fails with " #errc ", got: ok"; \
    if (checked_.error().code != (errc) || checked_.error().offset != (at)) {             \
      return ImageFailure(MQOTA_IMAGE_WHERE #result " fails with " #errc " at " #at,      \
                          checked_.error());                                              \
    }                                                                                     \
  } while (false)

// One static buffer, used in turn as the RAM copy of the image (checks that
// corrupt a byte) and as the RamFlash's storage (7 sectors of 4 KiB). Each
// check sets it up itself. Static: the stack is only 8 KiB.
constexpr uint32_t kSectorBytes = 4096;
constexpr uint32_t kFlashSectors = 7;
alignas(4) std::array<uint8_t, kSectorBytes * kFlashSectors> g_ram;
static_assert(g_ram.size() >= kImageBytes);

// A writable copy of the image in RAM.
std::span<uint8_t> CopyImageToRam() {
  std::span<uint8_t> copy = std::span(g_ram).first(kImage.size());
  std::copy(kImage.begin(), kImage.end(), copy.begin());
  return copy;
}

// --- Checks ---------------------------------------------------------------

// The test-only SHA-256 against FIPS 180-2 appendix B's examples (one block,
// two blocks, and the empty message), fed whole and in uneven pieces.
const char* Sha256KnownAnswers() {
  constexpr Digest kEmpty = {0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4,
                             0xc8, 0x99, 0x6f, 0xb9, 0x24, 0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b,
                             0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55};
  constexpr Digest kAbc = {0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40,
                           0xde, 0x5d, 0xae, 0x22, 0x23, 0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17,
                           0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad};
  constexpr Digest kTwoBlocks = {0x24, 0x8d, 0x6a, 0x61, 0xd2, 0x06, 0x38, 0xb8, 0xe5, 0xc0, 0x26,
                                 0x93, 0x0c, 0x3e, 0x60, 0x39, 0xa3, 0x3c, 0xe4, 0x59, 0x64, 0xff,
                                 0x21, 0x67, 0xf6, 0xec, 0xed, 0xd4, 0x19, 0xdb, 0x06, 0xc1};
  const std::span<const uint8_t> two_blocks =
      Text(Opaque("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"));
  MQOTA_EXPECT(Sha256Of({}) == kEmpty);
  MQOTA_EXPECT(Sha256Of(Text(Opaque("abc"))) == kAbc);
  MQOTA_EXPECT(Sha256Of(two_blocks) == kTwoBlocks);
  Sha256 sha;
  sha.Update(two_blocks.first(1));
  sha.Update(two_blocks.subspan(1, 50));
  sha.Update(two_blocks.subspan(51));
  Digest pieces{};
  sha.Finish(pieces);
  MQOTA_EXPECT(pieces == kTwoBlocks);
  return nullptr;
}

// The embedded bytes are the file: its length and its recorded SHA-256.
const char* VectorIsEmbeddedWhole() {
  MQOTA_EXPECT(Opaque(vectors::kEcdsaImageSize) == kImageBytes);
  MQOTA_EXPECT(Sha256Of(kImage) == kFileSha256);
  return nullptr;
}

const char* LayoutMatchesRecord() {
  MemoryImageSource source(kImage);
  const ImageResult<ImageLayout> layout = image::ParseLayout(source);
  EXPECT_IMAGE_OK(layout);
  const image::ImageHeader& header = layout->header;
  MQOTA_EXPECT(header.magic == image::kImageMagic);
  MQOTA_EXPECT(header.load_addr == 0);
  MQOTA_EXPECT(header.hdr_size == kHdrSize);
  MQOTA_EXPECT(header.protect_tlv_size == 0);
  MQOTA_EXPECT(header.img_size == kImgSize);
  MQOTA_EXPECT(header.flags == 0);
  MQOTA_EXPECT(header.version == (ImageVersion{1, 2, 3, 4}));
  MQOTA_EXPECT(header.pad1 == 0);
  MQOTA_EXPECT(layout->hashed_size == kHashedSize);
  MQOTA_EXPECT(layout->protected_tlv_offset == kHdrSize + kImgSize);
  MQOTA_EXPECT(layout->tlv_offset == kHashedSize);
  MQOTA_EXPECT(layout->tlv_size == kTlvTot);
  MQOTA_EXPECT(layout->total_size == kImageBytes);
  return nullptr;
}

// Exactly the recorded TLVs, in order; the protected block is empty; the
// SHA256 TLV holds the recorded digest.
const char* TlvsMatchRecord() {
  MemoryImageSource source(kImage);
  const ImageResult<ImageLayout> layout = image::ParseLayout(source);
  EXPECT_IMAGE_OK(layout);

  image::TlvIterator protected_tlvs(source, *layout, image::TlvIterator::Block::kProtected);
  const auto none = protected_tlvs.Next();
  EXPECT_IMAGE_OK(none);
  MQOTA_EXPECT(!none->has_value());

  image::TlvIterator it(source, *layout, image::TlvIterator::Block::kUnprotected);
  for (const RecordedTlv& want : kRecordedTlvs) {
    const auto entry = it.Next();
    EXPECT_IMAGE_OK(entry);
    MQOTA_EXPECT(entry->has_value());
    MQOTA_EXPECT((*entry)->type == want.type);
    MQOTA_EXPECT((*entry)->length == want.length);
    MQOTA_EXPECT((*entry)->value_offset == want.value_offset);
    MQOTA_EXPECT(!(*entry)->is_protected);
  }
  const auto end = it.Next();
  EXPECT_IMAGE_OK(end);
  MQOTA_EXPECT(!end->has_value());  // nothing after ECDSA_SIG
  MQOTA_EXPECT(kRecordedTlvs[2].value_offset + kRecordedTlvs[2].length == kImageBytes);

  Digest stored{};
  EXPECT_IMAGE_OK(source.Read(kSha256TlvValueOffset, stored));
  MQOTA_EXPECT(stored == kImageDigest);
  return nullptr;
}

const char* VersionFormatsAndOrders() {
  MemoryImageSource source(kImage);
  const ImageResult<ImageLayout> layout = image::ParseLayout(source);
  EXPECT_IMAGE_OK(layout);
  std::array<char, image::kVersionTextBytes> text{};
  const size_t length = image::FormatVersion(layout->header.version, text);
  MQOTA_EXPECT(length == 7);
  MQOTA_EXPECT(std::string_view(text.data(), length) == "1.2.3+4");
  MQOTA_EXPECT(text[length] == '\0');

  const ImageVersion v123{1, 2, Opaque<uint16_t>(3), 0};
  const ImageVersion v130{1, Opaque<uint8_t>(3), 0, 0};
  MQOTA_EXPECT(image::CompareVersions(v123, v130) < 0);
  MQOTA_EXPECT(image::CompareVersions(v130, v123) > 0);
  // Without the build number 1.2.3+4 equals 1.2.3; with it, it is newer.
  MQOTA_EXPECT(image::CompareVersions(layout->header.version, v123) == 0);
  MQOTA_EXPECT(image::CompareVersions(layout->header.version, v123, true) > 0);
  return nullptr;
}

const char* ValidatesWithRecordedDigest() {
  MemoryImageSource source(kImage);
  HashOnlyCrypto crypto;
  const ImageResult<ValidatedImage> result =
      image::ValidateImage(source, crypto, HashOnlyOptions());
  EXPECT_IMAGE_OK(result);
  MQOTA_EXPECT(result->digest == kImageDigest);
  MQOTA_EXPECT(result->layout.total_size == kImageBytes);
  MQOTA_EXPECT(!result->security_counter.has_value());
  MQOTA_EXPECT(!result->signing_key_index.has_value());
  MQOTA_EXPECT(crypto.verify_calls == 0);  // no trusted key: no signature to check
  return nullptr;
}

// With the signing key trusted and a signature required, validation gets as
// far as the backend: the hash matched, the KEYHASH TLV named the key (its
// SHA-256 computed on the target) and Verify saw the P-256 signature. Then
// kUnsupportedSignature, since this backend verifies nothing.
const char* SignatureReachesTheBackend() {
  MemoryImageSource source(kImage);
  HashOnlyCrypto crypto;
  const image::TrustedKey keys[] = {{image::SignatureType::kEcdsaP256, kEcdsaPublicKeyDer}};
  ValidationOptions options;
  options.trusted_keys = keys;
  const ImageResult<ValidatedImage> result = image::ValidateImage(source, crypto, options);
  EXPECT_IMAGE_ERROR(result, ImageErrc::kUnsupportedSignature, kHashedSize);
  MQOTA_EXPECT(crypto.verify_calls == 1);
  MQOTA_EXPECT(crypto.last_type == image::SignatureType::kEcdsaP256);
  MQOTA_EXPECT(crypto.last_key_bytes == kEcdsaPublicKeyDer.size());
  MQOTA_EXPECT(crypto.last_signature_bytes == kRecordedTlvs[2].length);
  return nullptr;
}

const char* FlippedPayloadByteIsHashMismatch() {
  const std::span<uint8_t> copy = CopyImageToRam();
  MemoryImageSource source(copy);
  HashOnlyCrypto crypto;
  EXPECT_IMAGE_OK(image::ValidateImage(source, crypto, HashOnlyOptions()));  // the copy is good
  copy[kHdrSize + Opaque(12345u)] ^= 0x01;
  EXPECT_IMAGE_ERROR(image::ValidateImage(source, crypto, HashOnlyOptions()),
                     ImageErrc::kHashMismatch, kSha256TlvValueOffset);
  return nullptr;
}

// The first 5000 bytes: a header whose payload runs past the end.
const char* TruncatedSourceIsTruncated() {
  MemoryImageSource source(kImage.first(Opaque(5000u)));
  HashOnlyCrypto crypto;
  EXPECT_IMAGE_ERROR(image::ValidateImage(source, crypto, HashOnlyOptions()), ImageErrc::kTruncated,
                     image::kOffImgSize);
  return nullptr;
}

const char* CorruptedMagicIsBadMagic() {
  const std::span<uint8_t> copy = CopyImageToRam();
  MemoryImageSource source(copy);
  HashOnlyCrypto crypto;
  copy[Opaque(3u)] ^= 0xff;  // 0x96f3b83d -> 0x69f3b83d
  EXPECT_IMAGE_ERROR(image::ValidateImage(source, crypto, HashOnlyOptions()), ImageErrc::kBadMagic,
                     image::kOffMagic);
  copy[3] ^= 0xff;
  copy[Opaque(0u)] ^= 0x01;  // 0x96f3b83c: MCUboot's obsolete v1 magic, refused too
  EXPECT_IMAGE_ERROR(image::ValidateImage(source, crypto, HashOnlyOptions()), ImageErrc::kBadMagic,
                     image::kOffMagic);
  return nullptr;
}

// The image written into a slot (sectors 1..6 of a RamFlash with 4 KiB sectors
// and an 8-byte program unit) and read back through FlashImageSource.
const char* ValidatesFromFlashArea() {
  static constexpr flash::SectorRun kSectors[] = {{kFlashSectors, kSectorBytes}};
  static constexpr flash::FlashGeometry kGeometry{kSectors, 8, 0xFF};
  flash::RamFlash device(kGeometry, g_ram);
  flash::FlashArea slot(device, kSectorBytes, (kFlashSectors - 1) * kSectorBytes);
  MQOTA_EXPECT(slot.IsValid());

  // Whole program units straight from .rodata, then the last 6 bytes padded
  // with the erased value to a full unit.
  constexpr uint32_t kAligned = kImageBytes / 8 * 8;
  MQOTA_EXPECT(slot.Write(0, kImage.first(kAligned)).ok());
  std::array<uint8_t, 8> tail;
  tail.fill(0xFF);
  std::copy(kImage.begin() + kAligned, kImage.end(), tail.begin());
  MQOTA_EXPECT(slot.Write(kAligned, tail).ok());
  MQOTA_EXPECT(std::equal(kImage.begin(), kImage.end(), device.contents().begin() + kSectorBytes));

  image::FlashImageSource source(slot);
  MQOTA_EXPECT(source.size_bytes() == (kFlashSectors - 1) * kSectorBytes);
  HashOnlyCrypto crypto;
  const ImageResult<ValidatedImage> result =
      image::ValidateImage(source, crypto, HashOnlyOptions());
  EXPECT_IMAGE_OK(result);
  MQOTA_EXPECT(result->digest == kImageDigest);
  MQOTA_EXPECT(result->layout.total_size == kImageBytes);
  return nullptr;
}

constexpr Check kChecks[] = {
    {"sha256_known_answers", Sha256KnownAnswers},
    {"vector_is_embedded_whole", VectorIsEmbeddedWhole},
    {"layout_matches_record", LayoutMatchesRecord},
    {"tlvs_match_record", TlvsMatchRecord},
    {"version_formats_and_orders", VersionFormatsAndOrders},
    {"validates_with_recorded_digest", ValidatesWithRecordedDigest},
    {"signature_reaches_the_backend", SignatureReachesTheBackend},
    {"flipped_payload_byte_is_hash_mismatch", FlippedPayloadByteIsHashMismatch},
    {"truncated_source_is_truncated", TruncatedSourceIsTruncated},
    {"corrupted_magic_is_bad_magic", CorruptedMagicIsBadMagic},
    {"validates_from_flash_area", ValidatesFromFlashArea},
};

}  // namespace

Layer ImageChecks() { return {"image", kChecks}; }

}  // namespace mqota::selftest
