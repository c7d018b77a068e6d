// The catalog: the signed images the server offers, each for one board at one
// version. Loaded once at start-up and immutable afterwards, so every worker
// reads it without locks; each image's bytes are held once and shared by every
// download of it, however many devices read them at the same time (P2).
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "mqota/image/crypto.h"
#include "mqota/image/format.h"

namespace mqota::server {

// A start-up failure the user must fix, as one line ("<path>: <reason>").
class ServerError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct CatalogEntry {
  std::string board;
  image::ImageVersion version;  // from the image header
  std::string path;             // where it was loaded from, for log lines
  // Exactly the image (header to the end of its TLVs), without any padding
  // the file carried after it.
  std::shared_ptr<const std::vector<uint8_t>> bytes;
  std::array<uint8_t, image::kSha256DigestBytes> sha256{};  // the SHA256 TLV's digest
  // SHA-256 (hex) of the public key the image is signed with: of the trusted
  // key whose signature verified, else the image's first KEYHASH TLV (or the
  // hash of its PUBKEY TLV); "" for an unsigned image.
  std::string key_hash;

  uint32_t size_bytes() const { return static_cast<uint32_t>(bytes->size()); }
  // "major.minor.revision": the protocol has no build number
  // (docs/spec/mcuboot-image.md#versions).
  std::string ProtocolVersion() const;
  std::string Sha256Hex() const;
  std::span<const uint8_t> data() const { return *bytes; }
};

using EntryPtr = std::shared_ptr<const CatalogEntry>;

// A delta patch from one image of a board to a newer one
// (docs/spec/delta-patch.md), made when the catalog loads and offered to a
// device that runs `source` and takes patches
// (docs/spec/mqota-protocol.md#patches).
struct CatalogPatch {
  EntryPtr source;
  EntryPtr target;
  std::shared_ptr<const std::vector<uint8_t>> bytes;
  // Of the patch's bytes: its name in job documents and chunk requests.
  std::array<uint8_t, image::kSha256DigestBytes> sha256{};

  uint32_t size_bytes() const { return static_cast<uint32_t>(bytes->size()); }
  std::string Sha256Hex() const;
  std::span<const uint8_t> data() const { return *bytes; }
};

using PatchPtr = std::shared_ptr<const CatalogPatch>;

struct PatchOptions {
  bool enabled = true;
  // Patches into each image from at most this many of its board's older
  // images, the newest first: a device a few releases behind still gets one.
  uint32_t max_sources = 3;
  // A patch larger than this share of its target image is not worth its
  // decoding: the full image is offered instead.
  uint32_t max_percent = 50;
  // Target bytes per patch block: a multiple of the devices' sector size
  // (a device refuses a patch whose blocks do not start on its sectors).
  uint32_t block_bytes = 32 * 1024;
  // "": patches are made at every load. Otherwise each is read from here
  // when there, and written here when made.
  std::filesystem::path cache_dir;
};

// A public key images must be signed with (DER SubjectPublicKeyInfo).
struct CatalogKey {
  image::SignatureType type;
  std::vector<uint8_t> der;
};

struct CatalogOptions {
  // Board for images without a "<image>.board" sidecar; "" = a sidecar is required.
  std::string default_board;
  // Empty: images must carry a valid SHA-256 TLV (development images). Otherwise
  // an image must also carry a signature by one of these keys.
  std::vector<CatalogKey> trusted_keys;
  PatchOptions patches;
};

// The largest image the chunk header can describe with 4096-byte chunks
// (at most 65535 of them, docs/spec/reference-protocol.md#format-limits).
inline constexpr uint64_t kMaxImageBytes = 65535ull * 4096;

class Catalog {
 public:
  // `paths`: image files, or directories whose *.bin and *.img files are
  // images. Each image's board comes from "<image>.board" beside it (one line)
  // or else from the default. Every image is validated (hash; signature when
  // keys are given). Throws ServerError naming the first bad file: unreadable,
  // not a valid image, no board, two images of one board with the same
  // major.minor.revision, or no image at all.
  static Catalog Load(const std::vector<std::filesystem::path>& paths,
                      const CatalogOptions& options);

  // Validates and adds one image held in memory (Load uses it; so do tests).
  // Throws ServerError like Load.
  void Add(const std::string& board, const std::string& path, std::vector<uint8_t> bytes,
           const CatalogOptions& options);

  // The newest image for `board` that is strictly newer than `running`
  // (major, minor, revision; a device's version has no build number), or
  // nullptr when the device is up to date or the board is unknown.
  // Entries for which `skip` is true (e.g. a version this device reverted)
  // are passed over in favour of the next newest.
  EntryPtr NewestNewerThan(std::string_view board, const image::ImageVersion& running,
                           const std::function<bool(const CatalogEntry&)>& skip = {}) const;

  const std::vector<EntryPtr>& entries() const { return entries_; }

  // Makes (or reads from the cache) the patches between the images of each
  // board (catalog_patches.cpp); Load calls it. Returns how many it made
  // rather than read. Throws ServerError when the cache cannot be written.
  size_t MakePatches(const PatchOptions& options);
  // The patch from the image whose SHA256 TLV is `source_sha256_hex` (what a
  // device states it runs) to `target`, or nullptr.
  PatchPtr PatchFrom(std::string_view source_sha256_hex, const CatalogEntry& target) const;
  // The patch whose bytes hash to `sha256_hex`, or nullptr.
  PatchPtr PatchNamed(std::string_view sha256_hex) const;
  const std::vector<PatchPtr>& patches() const { return patches_; }

 private:
  std::vector<EntryPtr> entries_;
  std::vector<PatchPtr> patches_;
  // board -> indexes into entries_, oldest first.
  std::map<std::string, std::vector<size_t>, std::less<>> by_board_;
};

// A board name as it may appear in a topic: non-empty, printable ASCII, no
// '/', '+', '#' or spaces.
bool ValidBoardName(std::string_view board);

}  // namespace mqota::server
