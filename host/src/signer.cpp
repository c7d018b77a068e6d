#include "mqota/host/signer.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cstdio>
#include <string>

#include "mqota/base/endian.h"
#include "mqota/boot/trailer_format.h"
#include "mqota/host/command_error.h"

namespace mqota::host {
namespace {

std::string Hex(uint64_t value) {
  char text[24];
  std::snprintf(text, sizeof text, "0x%llx", static_cast<unsigned long long>(value));
  return text;
}

class TlvBlockWriter {
 public:
  void Add(uint16_t type, std::span<const uint8_t> value) {
    const size_t at = body_.size();
    body_.resize(at + image::kTlvEntryHeaderSizeBytes);
    StoreLe16(body_, at, type);
    StoreLe16(body_, at + 2, static_cast<uint16_t>(value.size()));
    body_.insert(body_.end(), value.begin(), value.end());
  }
  bool empty() const { return body_.empty(); }
  size_t size_bytes() const { return image::kTlvInfoSizeBytes + body_.size(); }
  void AppendTo(std::vector<uint8_t>& out, uint16_t magic) const {
    if (size_bytes() > UINT16_MAX) throw UsageError("the TLV area exceeds 64 KiB");
    const size_t at = out.size();
    out.resize(at + image::kTlvInfoSizeBytes);
    StoreLe16(out, at, magic);
    StoreLe16(out, at + 2, static_cast<uint16_t>(size_bytes()));
    out.insert(out.end(), body_.begin(), body_.end());
  }

 private:
  std::vector<uint8_t> body_;
};

void CheckOptions(const SignOptions& o) {
  if (o.header_size < image::kHeaderSizeBytes) {
    throw UsageError("Minimum value for -H/--header-size is 32");
  }
  if (o.header_size > UINT16_MAX) {
    throw UsageError("-H/--header-size " + Hex(o.header_size) +
                     " does not fit the 16-bit header field");
  }
  if (o.load_addr != 0 && o.rom_fixed) {
    throw UsageError("Can not set rom_fixed and load_addr at the same time");
  }
}

boot::TrailerGeometry TrailerOf(const SignOptions& o) {
  boot::TrailerGeometry t;
  t.write_size = o.align;
  t.max_align = o.max_align.value_or(std::max<uint32_t>(boot::kDefaultMaxAlign, o.align));
  t.max_sectors = o.max_sectors;
  if (!t.IsValid()) {
    throw UsageError("--align " + std::to_string(o.align) + " needs --max-align of at least " +
                     std::to_string(o.align) + " (8, 16 or 32)");
  }
  return t;
}

// Prepends the header room, or checks that the input brought it as zeros.
void PrepareHeaderRoom(std::vector<uint8_t>& payload, const SignOptions& o) {
  if (o.pad_header) {
    payload.insert(payload.begin(), o.header_size, o.erased_value);
    return;
  }
  if (payload.size() < o.header_size ||
      std::any_of(payload.begin(), payload.begin() + o.header_size,
                  [](uint8_t b) { return b != 0; })) {
    throw UsageError("Header padding was not requested and image does not start with zeros");
  }
}

void AppendTrailer(std::vector<uint8_t>& out, const SignOptions& o,
                   const boot::TrailerGeometry& t) {
  out.resize(o.slot_size, o.erased_value);
  const auto magic = boot::BootMagic(t.max_align);
  std::copy(magic.begin(), magic.end(), out.end() - static_cast<long>(t.magic_from_end()));
  if (o.confirm && !o.overwrite_only) out[out.size() - t.image_ok_from_end()] = boot::kFlagSet;
}

}  // namespace

uint32_t AutoSecurityCounter(const image::ImageVersion& v) {
  return (uint32_t{v.major} << 24) + (uint32_t{v.minor} << 16) + v.revision;
}

std::vector<uint8_t> BuildSignedImage(std::vector<uint8_t> input, const SignOptions& o,
                                      const Key* key) {
  CheckOptions(o);
  const boot::TrailerGeometry trailer = TrailerOf(o);
  std::vector<uint8_t> out = std::move(input);
  PrepareHeaderRoom(out, o);
  if (out.size() - o.header_size > UINT32_MAX) throw UsageError("the image exceeds 4 GiB");

  TlvBlockWriter protected_tlvs;
  if (o.security_counter) {
    std::array<uint8_t, 4> counter{};
    StoreLe32(counter, 0, *o.security_counter);
    protected_tlvs.Add(image::tlv::kSecCnt, counter);
  }

  image::ImageHeader header;
  header.load_addr = o.rom_fixed.value_or(o.load_addr);
  header.hdr_size = static_cast<uint16_t>(o.header_size);
  header.protect_tlv_size =
      protected_tlvs.empty() ? 0 : static_cast<uint16_t>(protected_tlvs.size_bytes());
  header.img_size = static_cast<uint32_t>(out.size() - o.header_size);
  header.flags = (o.load_addr != 0 ? image::flags::kRamLoad : 0) |
                 (o.rom_fixed ? image::flags::kRomFixed : 0) |
                 (o.non_bootable ? image::flags::kNonBootable : 0);
  header.version = o.version;
  image::EncodeHeader(
      header, std::span<uint8_t, image::kHeaderSizeBytes>(out.data(), image::kHeaderSizeBytes));
  if (!protected_tlvs.empty()) protected_tlvs.AppendTo(out, image::kTlvProtectedInfoMagic);

  // The hash covers everything so far: header, padding, payload, protected TLVs.
  std::array<uint8_t, image::kSha256DigestBytes> digest{};
  unsigned int digest_len = 0;
  EVP_Digest(out.data(), out.size(), digest.data(), &digest_len, EVP_sha256(), nullptr);

  TlvBlockWriter tlvs;
  tlvs.Add(image::tlv::kSha256, digest);
  if (key) {
    if (o.public_key_full) {
      tlvs.Add(image::tlv::kPubKey, key->PublicKeyDer());
    } else {
      tlvs.Add(image::tlv::kKeyHash, key->PublicKeyHash());
    }
    std::vector<uint8_t> signature = key->SignImage(out, digest);
    if (o.pad_signature && key->type() == KeyType::kEcdsaP256) signature.resize(72, 0);
    tlvs.Add(key->type() == KeyType::kEcdsaP256 ? image::tlv::kEcdsaSig : image::tlv::kEd25519,
             signature);
  }
  tlvs.AppendTo(out, image::kTlvInfoMagic);

  const uint64_t trailer_size =
      o.overwrite_only ? trailer.overwrite_only_trailer_bytes() : trailer.trailer_bytes();
  if (out.size() + trailer_size > o.slot_size) {
    throw UsageError("Image size (" + Hex(out.size()) + ") + trailer (" + Hex(trailer_size) +
                     ") exceeds requested size " + Hex(o.slot_size));
  }
  if (o.pad || o.confirm) AppendTrailer(out, o, trailer);
  return out;
}

}  // namespace mqota::host
