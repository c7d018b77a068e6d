// Fuzz target: the image parser and validator on arbitrary bytes.
//
// Property: for any input, ParseLayout / TlvIterator / ValidateImage return
// (no crash, no out-of-bounds access, no undefined behaviour, no endless loop),
// and what they report is consistent with the input: the layout lies inside it
// and every TLV entry lies inside its block.
//
// The crypto backend is a stand-in whose SHA-256 is all zeros and whose
// signatures verify when their first byte is odd: the fuzzer can then reach
// the code after a matching hash and after a good signature, which a real
// SHA-256 would hide from it.
#include <cstddef>
#include <cstdint>

#include "mqota/image/layout.h"
#include "mqota/image/tlv.h"
#include "mqota/image/validate.h"

namespace {

using namespace mqota::image;

class PredictableCrypto final : public CryptoBackend {
 public:
  void Sha256Start() override {}
  void Sha256Update(std::span<const uint8_t>) override {}
  void Sha256Finish(Sha256Digest digest) override {
    for (auto& b : digest) b = 0;
  }
  SignatureCheck Verify(SignatureType, std::span<const uint8_t>, ConstSha256Digest,
                        std::span<const uint8_t> signature) override {
    return (!signature.empty() && (signature[0] & 1)) ? SignatureCheck::kValid
                                                      : SignatureCheck::kInvalid;
  }
};

void Check(bool property) {
  if (!property) __builtin_trap();
}

void WalkBlock(ImageSource& source, const ImageLayout& layout, TlvIterator::Block block,
               size_t size) {
  TlvIterator it(source, layout, block);
  // Each entry takes at least 4 bytes, so a walk has at most size/4 + 1 steps.
  for (size_t steps = 0;; ++steps) {
    Check(steps <= size / 4 + 1);
    auto entry = it.Next();
    if (!entry.ok() || !entry->has_value()) return;
    Check(uint64_t{(*entry)->value_offset} + (*entry)->length <= layout.total_size);
  }
}

// The SHA-256 of the 44-byte SubjectPublicKeyInfo below is what a fuzzed
// KEYHASH would have to match; with the stand-in crypto it is all zeros.
const uint8_t kKey[44] = {0x30, 0x2a};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  MemoryImageSource source(std::span<const uint8_t>(data, size));
  auto layout = ParseLayout(source);
  if (layout.ok()) {
    Check(layout->total_size <= size);
    Check(layout->hashed_size == layout->tlv_offset);
    Check(layout->protected_tlv_offset <= layout->hashed_size);
    Check(layout->tlv_offset + layout->tlv_size == layout->total_size);
    WalkBlock(source, *layout, TlvIterator::Block::kProtected, size);
    WalkBlock(source, *layout, TlvIterator::Block::kUnprotected, size);
  }

  PredictableCrypto crypto;
  const TrustedKey keys[] = {{SignatureType::kEcdsaP256, kKey}, {SignatureType::kEd25519, kKey}};
  for (bool require_signature : {false, true}) {
    ValidationOptions options;
    options.trusted_keys = keys;
    options.require_signature = require_signature;
    auto result = ValidateImage(source, crypto, options);
    if (result.ok()) {
      Check(layout.ok());
      Check(result->layout.total_size == layout->total_size);
      Check(!require_signature || result->signing_key_index.has_value());
    }
  }
  return 0;
}
