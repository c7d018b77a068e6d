#include "mqota/image/validate.h"

#include <algorithm>

#include "mqota/base/endian.h"
#include "mqota/image/tlv.h"

namespace mqota::image {
namespace {

// Bytes hashed per read. MCUboot uses 256; 512 halves the calls for the same
// modest stack cost on a Cortex-M.
constexpr uint32_t kHashChunkBytes = 512;
// Longest key or signature value read into RAM: a P-256 SubjectPublicKeyInfo
// is 91 bytes, an ECDSA signature at most 72 (plus optional zero padding).
constexpr uint32_t kMaxKeyOrSignatureBytes = 128;

ImageStatus HashRegion(ImageSource& source, CryptoBackend& crypto, uint32_t size,
                       Sha256Digest digest) {
  std::array<uint8_t, kHashChunkBytes> chunk{};
  crypto.Sha256Start();
  for (uint32_t offset = 0; offset < size;) {
    const uint32_t n = std::min<uint32_t>(kHashChunkBytes, size - offset);
    MQOTA_TRY(source.Read(offset, std::span(chunk).first(n)));
    crypto.Sha256Update(std::span(chunk).first(n));
    offset += n;
  }
  crypto.Sha256Finish(digest);
  return {};
}

// Compares without an early exit, as MCUboot does for the hash TLV: the time
// taken does not depend on where the first difference is.
bool EqualBytes(std::span<const uint8_t> a, std::span<const uint8_t> b) {
  if (a.size() != b.size()) return false;
  uint8_t diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<uint8_t>(a[i] ^ b[i]);
  return diff == 0;
}

ImageResult<std::optional<uint32_t>> ReadSecurityCounter(ImageSource& source,
                                                         const ImageLayout& layout) {
  std::optional<uint32_t> counter;
  TlvIterator it(source, layout, TlvIterator::Block::kProtected);
  while (true) {
    MQOTA_TRY_ASSIGN(const std::optional<TlvEntry> entry, it.Next());
    if (!entry) return counter;
    if (entry->type != tlv::kSecCnt) continue;
    if (entry->length != tlv::kSecCntBytes) {
      return ImageError{ImageErrc::kBadTlvLength, entry->value_offset};
    }
    if (counter) return ImageError{ImageErrc::kDuplicateTlv, entry->value_offset};
    std::array<uint8_t, tlv::kSecCntBytes> bytes{};
    MQOTA_TRY(source.Read(entry->value_offset, bytes));
    counter = LoadLe32(bytes, 0);
  }
}

std::optional<SignatureType> SignatureTypeOf(uint16_t tlv_type) {
  if (tlv_type == tlv::kEcdsaSig) return SignatureType::kEcdsaP256;
  if (tlv_type == tlv::kEd25519) return SignatureType::kEd25519;
  return std::nullopt;
}

// Walks the unprotected block: checks the hash TLV against `digest` and
// verifies signatures, each with the key its preceding KEYHASH/PUBKEY names.
class UnprotectedTlvCheck {
 public:
  UnprotectedTlvCheck(ImageSource& source, CryptoBackend& crypto, const ValidationOptions& options,
                      ConstSha256Digest digest)
      : source_(source), crypto_(crypto), options_(options), digest_(digest) {}

  ImageStatus Run(const ImageLayout& layout) {
    TlvIterator it(source_, layout, TlvIterator::Block::kUnprotected);
    while (true) {
      MQOTA_TRY_ASSIGN(const std::optional<TlvEntry> entry, it.Next());
      if (!entry) break;
      MQOTA_TRY(Visit(*entry));
    }
    if (!hash_seen_) return ImageError{ImageErrc::kNoHash, layout.tlv_offset};
    if (!options_.require_signature || verified_key_) return {};
    const ImageErrc code = !signature_seen_ ? ImageErrc::kNoSignature
                           : bad_signature_ ? ImageErrc::kBadSignature
                           : unsupported_   ? ImageErrc::kUnsupportedSignature
                                            : ImageErrc::kUnknownKey;
    return ImageError{code, layout.tlv_offset};
  }

  std::optional<uint32_t> verified_key() const { return verified_key_; }

 private:
  ImageStatus Visit(const TlvEntry& entry) {
    if (tlv::IsProtectedOnly(entry.type)) {
      return ImageError{ImageErrc::kMisplacedTlv, entry.value_offset};
    }
    switch (entry.type) {
      case tlv::kSha256: return CheckHash(entry);
      case tlv::kKeyHash: return SelectKeyByHash(entry);
      case tlv::kPubKey: return SelectKeyByDer(entry);
      default: break;
    }
    if (auto type = SignatureTypeOf(entry.type)) return CheckSignature(entry, *type);
    return {};  // other TLVs do not concern validation
  }

  ImageStatus CheckHash(const TlvEntry& entry) {
    if (entry.length != tlv::kSha256Bytes) {
      return ImageError{ImageErrc::kBadTlvLength, entry.value_offset};
    }
    if (hash_seen_) return ImageError{ImageErrc::kDuplicateTlv, entry.value_offset};
    hash_seen_ = true;
    std::array<uint8_t, tlv::kSha256Bytes> stored{};
    MQOTA_TRY(source_.Read(entry.value_offset, stored));
    if (!EqualBytes(stored, digest_)) {
      return ImageError{ImageErrc::kHashMismatch, entry.value_offset};
    }
    return {};
  }

  ImageStatus SelectKeyByHash(const TlvEntry& entry) {
    selected_key_.reset();
    if (entry.length != tlv::kKeyHashBytes) {
      return ImageError{ImageErrc::kBadTlvLength, entry.value_offset};
    }
    std::array<uint8_t, tlv::kKeyHashBytes> wanted{};
    MQOTA_TRY(source_.Read(entry.value_offset, wanted));
    for (uint32_t i = 0; i < options_.trusted_keys.size(); ++i) {
      std::array<uint8_t, kSha256DigestBytes> key_hash{};
      crypto_.Sha256(options_.trusted_keys[i].public_key_der, key_hash);
      if (EqualBytes(key_hash, wanted)) {
        selected_key_ = i;
        break;
      }
    }
    return {};
  }

  ImageStatus SelectKeyByDer(const TlvEntry& entry) {
    selected_key_.reset();
    if (entry.length > kMaxKeyOrSignatureBytes) return {};  // no trusted key is this long
    std::array<uint8_t, kMaxKeyOrSignatureBytes> der{};
    auto value = std::span(der).first(entry.length);
    MQOTA_TRY(source_.Read(entry.value_offset, value));
    for (uint32_t i = 0; i < options_.trusted_keys.size(); ++i) {
      if (EqualBytes(options_.trusted_keys[i].public_key_der, value)) {
        selected_key_ = i;
        break;
      }
    }
    return {};
  }

  ImageStatus CheckSignature(const TlvEntry& entry, SignatureType type) {
    signature_seen_ = true;
    // A KEYHASH names the key of the one signature that follows it.
    const std::optional<uint32_t> key_index = selected_key_;
    selected_key_.reset();
    if (type == SignatureType::kEd25519 && entry.length != tlv::kEd25519SigBytes) {
      return ImageError{ImageErrc::kBadTlvLength, entry.value_offset};
    }
    if (!key_index || verified_key_) return {};
    const TrustedKey& key = options_.trusted_keys[*key_index];
    if (key.type != type) return {};
    if (entry.length == 0 || entry.length > kMaxKeyOrSignatureBytes) {
      bad_signature_ = true;
      return {};
    }
    std::array<uint8_t, kMaxKeyOrSignatureBytes> signature{};
    auto value = std::span(signature).first(entry.length);
    MQOTA_TRY(source_.Read(entry.value_offset, value));
    switch (crypto_.Verify(type, key.public_key_der, digest_, value)) {
      case SignatureCheck::kValid: verified_key_ = key_index; break;
      case SignatureCheck::kInvalid: bad_signature_ = true; break;
      case SignatureCheck::kUnsupported: unsupported_ = true; break;
    }
    return {};
  }

  ImageSource& source_;
  CryptoBackend& crypto_;
  const ValidationOptions& options_;
  ConstSha256Digest digest_;
  bool hash_seen_ = false;
  bool signature_seen_ = false;
  bool bad_signature_ = false;
  bool unsupported_ = false;
  std::optional<uint32_t> selected_key_;
  std::optional<uint32_t> verified_key_;
};

}  // namespace

ImageResult<ValidatedImage> ValidateImage(ImageSource& source, CryptoBackend& crypto,
                                          const ValidationOptions& options) {
  MQOTA_TRY_ASSIGN(const ImageLayout layout, ParseLayout(source, options.limits));
  if (layout.header.flags & flags::kUnsupported) {
    return ImageError{ImageErrc::kUnsupportedFlags, kOffFlags};
  }
  if (options.require_bootable && (layout.header.flags & flags::kNonBootable)) {
    return ImageError{ImageErrc::kNotBootable, kOffFlags};
  }

  ValidatedImage result{layout, {}, std::nullopt, std::nullopt};
  MQOTA_TRY(HashRegion(source, crypto, layout.hashed_size, result.digest));
  MQOTA_TRY_ASSIGN(result.security_counter, ReadSecurityCounter(source, layout));

  UnprotectedTlvCheck check(source, crypto, options, result.digest);
  MQOTA_TRY(check.Run(layout));
  result.signing_key_index = check.verified_key();
  return result;
}

}  // namespace mqota::image
