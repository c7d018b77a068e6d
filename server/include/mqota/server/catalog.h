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

  uint32_t size_bytes() const { return static_cast<uint32_t>(bytes->size()); }
  // "major.minor.revision": the protocol has no build number
  // (docs/spec/mcuboot-image.md#versions).
  std::string ProtocolVersion() const;
  std::string Sha256Hex() const;
  std::span<const uint8_t> data() const { return *bytes; }
};

using EntryPtr = std::shared_ptr<const CatalogEntry>;

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

 private:
  std::vector<EntryPtr> entries_;
  // board -> indexes into entries_, oldest first.
  std::map<std::string, std::vector<size_t>, std::less<>> by_board_;
};

// A board name as it may appear in a topic: non-empty, printable ASCII, no
// '/', '+', '#' or spaces.
bool ValidBoardName(std::string_view board);

}  // namespace mqota::server
