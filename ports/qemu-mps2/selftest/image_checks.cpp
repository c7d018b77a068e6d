// mqota::image on the target: a real MCUboot image made by imgtool
// (tests/vectors/imgtool/ecdsa-v1.2.3+4.bin, facts in expected.json there,
// restated in vector_image.h) parsed, walked and validated by the code the
// bootloader will run, with a real SHA-256 (sha256.h), from memory and through
// a FlashArea.
//
// The image is embedded at build time (embed_file.cmake makes
// imgtool_ecdsa_image.{h,cpp}): a const array in flash (.rodata), not RAM,
// defined in its own translation unit so nothing here is folded at compile
// time. Checks that change bytes work on a copy in static RAM.
//
// Two backends: HashOnlyCrypto (test_crypto.h: this file's own SHA-256, no
// signatures), for the checks of parsing and hashing, and the device's real
// one, ports/mbedtls (mbedTLS compiled for the M4 from Debian's source
// package), which verifies the image's ECDSA P-256 signature here, on the
// target, and refuses tampered copies.
#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "check.h"
#include "hex.h"
#include "imgtool_ecdsa_image.h"
#include "layers.h"
#include "message.h"
#include "mqota/flash/flash_area.h"
#include "mqota/flash/ram_flash.h"
#include "mqota/image/error.h"
#include "mqota/image/format.h"
#include "mqota/image/image_source.h"
#include "mqota/image/layout.h"
#include "mqota/image/tlv.h"
#include "mqota/image/validate.h"
#include "mqota/image/version.h"
#include "mqota/ports/mbedtls/mbedtls_crypto.h"
#include "mqota/qemu_mps2/console.h"
#include "sha256.h"
#include "stack_probe.h"
#include "test_crypto.h"
#include "vector_image.h"

namespace mqota::selftest {
namespace {

using image::ImageErrc;
using image::ImageLayout;
using image::ImageResult;
using image::ImageVersion;
using image::MemoryImageSource;
using image::ValidatedImage;
using image::ValidationOptions;

// --- Helpers --------------------------------------------------------------

std::span<const uint8_t> Text(std::string_view text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

// A failure message that names the error the image layer returned, e.g.
// "image_checks.cpp:241: layout ok, got: the image is truncated: it ends
// before its declared size (offset 12)".
const char* ImageFailure(const char* expectation, const image::ImageError& error) {
  return Message::Begin(expectation)
      .Add(", got: ")
      .Add(image::Describe(error.code))
      .Add(" (offset ")
      .Dec(error.offset)
      .Add(")")
      .c_str();
}

// Inside a check: fails it unless `result` (an ImageResult or ImageStatus) is
// ok, naming the error it holds.
#define EXPECT_IMAGE_OK(result)                                                  \
  do {                                                                           \
    const auto& checked_ = (result);                                             \
    if (!checked_.ok()) {                                                        \
      return ImageFailure(MQOTA_SELFTEST_WHERE #result " ok", checked_.error()); \
    }                                                                            \
  } while (false)

// Inside a check: fails it unless `result` failed with `errc` at offset `at`.
#define EXPECT_IMAGE_ERROR(result, errc, at)                                                 \
  do {                                                                                       \
    const auto& checked_ = (result);                                                         \
    if (checked_.ok()) return MQOTA_SELFTEST_WHERE #result " fails with " #errc ", got: ok"; \
    if (checked_.error().code != (errc) || checked_.error().offset != (at)) {                \
      return ImageFailure(MQOTA_SELFTEST_WHERE #result " fails with " #errc " at " #at,      \
                          checked_.error());                                                 \
    }                                                                                        \
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

// Validates `source` hash-only with `crypto` and expects the recorded image
// (its digest and size), whichever way `source` reads it: the checks from
// memory and from flash hold it to the same record. The validated image goes
// to `*validated` for a check that looks further.
const char* ValidatesAsRecorded(image::ImageSource& source, HashOnlyCrypto& crypto,
                                std::optional<ValidatedImage>* validated = nullptr) {
  const ImageResult<ValidatedImage> result =
      image::ValidateImage(source, crypto, HashOnlyOptions());
  EXPECT_IMAGE_OK(result);
  MQOTA_EXPECT(result->digest == kImageDigest);
  MQOTA_EXPECT(result->layout.total_size == kImageBytes);
  if (validated != nullptr) *validated = *result;
  return nullptr;
}

// --- Checks ---------------------------------------------------------------

// The test-only SHA-256 against FIPS 180-2 appendix B's examples (one block,
// two blocks, and the empty message), fed whole and in uneven pieces.
const char* Sha256KnownAnswers() {
  constexpr Digest kEmpty = Hex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  constexpr Digest kAbc = Hex("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  constexpr Digest kTwoBlocks =
      Hex("248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
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
  MQOTA_EXPECT(header.version == kImageVersion);
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
  std::optional<ValidatedImage> result;
  if (const char* why = ValidatesAsRecorded(source, crypto, &result)) return why;
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
  return ValidatesAsRecorded(source, crypto);
}

// --- ECDSA P-256 on the target (ports/mbedtls) ------------------------------

const image::TrustedKey kTrustedKeys[] = {{image::SignatureType::kEcdsaP256, kEcdsaPublicKeyDer}};

ValidationOptions SignedOptions() {
  ValidationOptions options;
  options.trusted_keys = kTrustedKeys;  // require_signature stays true
  return options;
}

// mbedTLS's SHA-256 gives the recorded digests too (FIPS 180-2 "abc", and the
// image's hashed region).
const char* MbedtlsSha256MatchesRecord() {
  ports::MbedtlsCrypto crypto;
  Digest abc{};
  crypto.Sha256(Text(Opaque("abc")), abc);
  MQOTA_EXPECT(abc == Sha256Of(Text("abc")));
  Digest hashed{};
  crypto.Sha256(kImage.first(Opaque(kHashedSize)), hashed);
  MQOTA_EXPECT(hashed == kImageDigest);
  return nullptr;
}

// The imgtool image, signed with ecdsa-p256-test-key.pem, validates with its
// public key trusted and a signature required: the bootloader's own check.
// Its stack need is printed ("measure ..."), for the budgets.
const char* EcdsaSignatureVerifies() {
  MemoryImageSource source(kImage);
  ports::MbedtlsCrypto crypto;
  std::optional<ImageResult<ValidatedImage>> result;
  const uint32_t stack_bytes = MeasureStackBytes(
      [&] { result.emplace(image::ValidateImage(source, crypto, SignedOptions())); });
  EXPECT_IMAGE_OK(*result);
  MQOTA_EXPECT((*result)->signing_key_index == 0u);
  MQOTA_EXPECT((*result)->digest == kImageDigest);
  qemu_mps2::ConsoleWrite("measure image.validate_ecdsa_stack_bytes ");
  qemu_mps2::ConsoleWriteDec(stack_bytes);
  qemu_mps2::ConsoleWrite("\n");
  return nullptr;
}

// One bit of the signature's r changed: the hash still matches, the key is
// known, and ECDSA says no.
const char* FlippedSignatureBitIsBadSignature() {
  const std::span<uint8_t> copy = CopyImageToRam();
  MemoryImageSource source(copy);
  ports::MbedtlsCrypto crypto;
  EXPECT_IMAGE_OK(image::ValidateImage(source, crypto, SignedOptions()));  // the copy is good
  // ECDSA_SIG value: 30 44 02 20 <r: 32 bytes> ...; byte 10 is inside r.
  copy[kRecordedTlvs[2].value_offset + Opaque(10u)] ^= 0x04;
  EXPECT_IMAGE_ERROR(image::ValidateImage(source, crypto, SignedOptions()),
                     ImageErrc::kBadSignature, kHashedSize);
  return nullptr;
}

// A tampered payload with the signature required: refused, at the hash,
// before any signature is looked at.
const char* TamperedPayloadIsRefused() {
  const std::span<uint8_t> copy = CopyImageToRam();
  MemoryImageSource source(copy);
  ports::MbedtlsCrypto crypto;
  copy[kHdrSize + Opaque(777u)] ^= 0x80;
  EXPECT_IMAGE_ERROR(image::ValidateImage(source, crypto, SignedOptions()),
                     ImageErrc::kHashMismatch, kSha256TlvValueOffset);
  return nullptr;
}

// The backend alone: the recorded signature over the recorded digest is
// valid; over a digest one bit away it is not, nor with a key that is not a
// P-256 SubjectPublicKeyInfo, nor with a signature that is not DER.
const char* BackendVerifiesOnlyTheExactDigest() {
  ports::MbedtlsCrypto crypto;
  const auto signature = kImage.subspan(kRecordedTlvs[2].value_offset, kRecordedTlvs[2].length);
  Digest digest = kImageDigest;
  MQOTA_EXPECT(crypto.Verify(image::SignatureType::kEcdsaP256, kEcdsaPublicKeyDer, digest,
                             signature) == image::SignatureCheck::kValid);
  digest[Opaque(31u)] ^= 0x01;
  MQOTA_EXPECT(crypto.Verify(image::SignatureType::kEcdsaP256, kEcdsaPublicKeyDer, digest,
                             signature) == image::SignatureCheck::kInvalid);
  MQOTA_EXPECT(crypto.Verify(image::SignatureType::kEcdsaP256,
                             std::span(kEcdsaPublicKeyDer).first(90), kImageDigest,
                             signature) == image::SignatureCheck::kInvalid);
  MQOTA_EXPECT(crypto.Verify(image::SignatureType::kEcdsaP256, kEcdsaPublicKeyDer, kImageDigest,
                             signature.subspan(1)) == image::SignatureCheck::kInvalid);
  MQOTA_EXPECT(crypto.Verify(image::SignatureType::kEd25519, kEcdsaPublicKeyDer, kImageDigest,
                             signature) == image::SignatureCheck::kUnsupported);
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
    {"mbedtls_sha256_matches_record", MbedtlsSha256MatchesRecord},
    {"ecdsa_signature_verifies", EcdsaSignatureVerifies},
    {"flipped_signature_bit_is_bad_signature", FlippedSignatureBitIsBadSignature},
    {"tampered_payload_is_refused", TamperedPayloadIsRefused},
    {"backend_verifies_only_the_exact_digest", BackendVerifiesOnlyTheExactDigest},
};

}  // namespace

Layer ImageChecks() { return {"image", kChecks}; }

}  // namespace mqota::selftest
