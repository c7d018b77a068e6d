// The catalog's delta patches (docs/spec/mqota-protocol.md#patches): for
// each image, a patch from each of its board's few newest older images,
// kept when it is small enough to be worth it. Made once per load (or read
// from the cache directory), then immutable like the rest of the catalog.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>

#include "mqota/host/delta_encoder.h"
#include "mqota/host/files.h"
#include "mqota/host/hex.h"
#include "mqota/ports/openssl/openssl_crypto.h"
#include "mqota/server/catalog.h"

namespace mqota::server {
namespace fs = std::filesystem;
namespace {

std::array<uint8_t, image::kSha256DigestBytes> Sha256Of(std::span<const uint8_t> bytes) {
  ports::OpensslCrypto crypto;
  std::array<uint8_t, image::kSha256DigestBytes> digest{};
  crypto.Sha256Start();
  crypto.Sha256Update(bytes);
  crypto.Sha256Finish(digest);
  return digest;
}

// Named by both images' stated digests and the block size: another build of
// either, or another block size, is another file.
fs::path CachePath(const fs::path& dir, const CatalogEntry& source, const CatalogEntry& target,
                   uint32_t block_bytes) {
  return dir / (source.Sha256Hex().substr(0, 32) + "-" + target.Sha256Hex().substr(0, 32) + "-" +
                std::to_string(block_bytes) + ".mqdp");
}

// A cached patch is used only when its header names exactly these two
// images (whole-image digests, as the patch states them) and this block
// size; anything else is made again.
std::vector<uint8_t> ReadCached(const fs::path& path, const CatalogEntry& source,
                                const CatalogEntry& target, uint32_t block_bytes) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return {};
  std::ifstream in(path, std::ios::binary);
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                             std::istreambuf_iterator<char>());
  const auto header = host::ReadPatchHeader(bytes);
  if (!header.ok() || header->block_bytes != block_bytes ||
      header->source_sha256 != Sha256Of(source.data()) ||
      header->target_sha256 != Sha256Of(target.data()) ||
      header->source_size_bytes != source.size_bytes() ||
      header->target_size_bytes != target.size_bytes()) {
    return {};
  }
  return bytes;
}

// 64 lower-case hex digits as bytes (the form the handler passes on), or
// nothing.
std::optional<std::array<uint8_t, image::kSha256DigestBytes>> DigestOf(std::string_view hex) {
  std::array<uint8_t, image::kSha256DigestBytes> digest{};
  if (hex.size() != 2 * digest.size()) return std::nullopt;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  for (size_t i = 0; i < digest.size(); ++i) {
    const int hi = nibble(hex[2 * i]), lo = nibble(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    digest[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return digest;
}

}  // namespace

std::string CatalogPatch::Sha256Hex() const { return host::HexString(sha256); }

size_t Catalog::MakePatches(const PatchOptions& options) {
  patches_.clear();
  size_t made = 0;
  for (const auto& [board, indexes] : by_board_) {
    // indexes: oldest first.
    for (size_t t = 1; t < indexes.size(); ++t) {
      const EntryPtr& target = entries_[indexes[t]];
      const size_t first = t > options.max_sources ? t - options.max_sources : 0;
      for (size_t s = t; s-- > first;) {
        const EntryPtr& source = entries_[indexes[s]];
        std::vector<uint8_t> bytes;
        fs::path cached;
        if (!options.cache_dir.empty()) {
          cached = CachePath(options.cache_dir, *source, *target, options.block_bytes);
          bytes = ReadCached(cached, *source, *target, options.block_bytes);
        }
        if (bytes.empty()) {
          host::DeltaOptions delta;
          delta.block_bytes = options.block_bytes;
          delta.source_version = source->version;
          delta.target_version = target->version;
          bytes = host::MakeDeltaPatch(source->data(), target->data(), delta);
          ++made;
          if (!cached.empty()) {
            std::error_code ec;
            fs::create_directories(options.cache_dir, ec);
            try {
              host::WriteFileAtomically(cached.string(), bytes);
            } catch (const std::exception& e) {
              throw ServerError(cached.string() +
                                ": the patch cache cannot be written: " + e.what());
            }
          }
        }
        if (uint64_t{bytes.size()} * 100 > uint64_t{target->size_bytes()} * options.max_percent) {
          continue;
        }
        auto patch = std::make_shared<CatalogPatch>();
        patch->source = source;
        patch->target = target;
        patch->sha256 = Sha256Of(bytes);
        patch->bytes = std::make_shared<const std::vector<uint8_t>>(std::move(bytes));
        patches_.push_back(std::move(patch));
      }
    }
  }
  return made;
}

// Lookups run for every chunk request of a patch: the asked digest is read
// once and compared as bytes, not each patch's digest formatted as text.
PatchPtr Catalog::PatchFrom(std::string_view source_sha256_hex, const CatalogEntry& target) const {
  const auto digest = DigestOf(source_sha256_hex);
  if (!digest) return nullptr;
  for (const PatchPtr& patch : patches_) {
    if (patch->target.get() == &target && patch->source->sha256 == *digest) return patch;
  }
  return nullptr;
}

PatchPtr Catalog::PatchNamed(std::string_view sha256_hex) const {
  const auto digest = DigestOf(sha256_hex);
  if (!digest) return nullptr;
  for (const PatchPtr& patch : patches_) {
    if (patch->sha256 == *digest) return patch;
  }
  return nullptr;
}

}  // namespace mqota::server
