#include "mqota/server/catalog.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <fstream>
#include <iterator>

#include "mqota/agent/job.h"
#include "mqota/host/hex.h"
#include "mqota/image/tlv.h"
#include "mqota/image/validate.h"
#include "mqota/image/version.h"
#include "mqota/ports/openssl/openssl_crypto.h"

namespace mqota::server {
namespace fs = std::filesystem;
namespace {

constexpr std::string_view kBoardSidecarSuffix = ".board";

std::vector<uint8_t> ReadWholeFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ServerError(path.string() + ": cannot be read");
  in.seekg(0, std::ios::end);
  const auto size = static_cast<uint64_t>(in.tellg());
  // A file beyond the chunk format's limit is refused before it is read.
  if (size > kMaxImageBytes + (1u << 20)) {
    throw ServerError(path.string() + ": " + std::to_string(size) +
                      " bytes is larger than the protocol can carry");
  }
  in.seekg(0);
  std::vector<uint8_t> bytes(size);
  if (!in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(size))) {
    throw ServerError(path.string() + ": cannot be read");
  }
  return bytes;
}

// The first line of "<image>.board", trimmed; "" when there is no sidecar.
std::string SidecarBoard(const fs::path& image_path) {
  fs::path sidecar = image_path;
  sidecar += kBoardSidecarSuffix;
  std::error_code ec;
  if (!fs::exists(sidecar, ec)) return "";
  std::ifstream in(sidecar);
  std::string line;
  if (!in || !std::getline(in, line)) throw ServerError(sidecar.string() + ": cannot be read");
  const auto first = line.find_first_not_of(" \t\r");
  const auto last = line.find_last_not_of(" \t\r");
  line = first == std::string::npos ? "" : line.substr(first, last - first + 1);
  if (!ValidBoardName(line)) {
    throw ServerError(sidecar.string() + ": '" + line + "' is not a valid board name");
  }
  return line;
}

bool LooksLikeImage(const fs::path& path) {
  const auto ext = path.extension();
  return ext == ".bin" || ext == ".img";
}

std::string VersionText(const image::ImageVersion& v) {
  std::array<char, image::kVersionTextBytes> text{};
  image::FormatVersion(v, text);
  return text.data();
}

}  // namespace

std::string CatalogEntry::ProtocolVersion() const {
  std::array<char, agent::kProtocolVersionTextBytes> text{};
  return std::string(agent::FormatProtocolVersion(version, text));
}

namespace {

// The signing key's hash as the image names it: its first KEYHASH TLV, or
// the hash of its first PUBKEY TLV; "" when it names none.
std::string NamedKeyHash(const std::vector<uint8_t>& bytes, const image::ImageLayout& layout,
                         image::CryptoBackend& crypto) {
  image::MemoryImageSource source(bytes);
  image::TlvIterator it(source, layout, image::TlvIterator::Block::kUnprotected);
  for (;;) {
    const auto entry = it.Next();
    if (!entry.ok() || !*entry) return "";
    const image::TlvEntry& tlv = **entry;
    if (uint64_t{tlv.value_offset} + tlv.length > bytes.size()) return "";
    const std::span<const uint8_t> value(bytes.data() + tlv.value_offset, tlv.length);
    if (tlv.type == image::tlv::kKeyHash && tlv.length == image::tlv::kKeyHashBytes) {
      return host::HexString(value);
    }
    if (tlv.type == image::tlv::kPubKey) {
      std::array<uint8_t, image::kSha256DigestBytes> hash{};
      crypto.Sha256(value, hash);
      return host::HexString(hash);
    }
  }
}

}  // namespace

std::string CatalogEntry::Sha256Hex() const { return host::HexString(sha256); }

bool ValidBoardName(std::string_view board) {
  if (board.empty() || board.size() > 64) return false;
  return std::all_of(board.begin(), board.end(), [](char c) {
    return c > 0x20 && c < 0x7f && c != '/' && c != '+' && c != '#';
  });
}

Catalog Catalog::Load(const std::vector<fs::path>& paths, const CatalogOptions& options) {
  std::vector<fs::path> files;
  for (const auto& path : paths) {
    std::error_code ec;
    if (fs::is_directory(path, ec)) {
      std::vector<fs::path> found;
      for (const auto& item : fs::directory_iterator(path, ec)) {
        if (item.is_regular_file() && LooksLikeImage(item.path())) found.push_back(item.path());
      }
      if (ec) throw ServerError(path.string() + ": cannot list: " + ec.message());
      std::sort(found.begin(), found.end());  // deterministic order for the start-up log
      files.insert(files.end(), found.begin(), found.end());
    } else if (fs::exists(path, ec)) {
      files.push_back(path);
    } else {
      throw ServerError(path.string() + ": no such file or directory");
    }
  }
  Catalog catalog;
  for (const auto& file : files) {
    std::string board = SidecarBoard(file);
    if (board.empty()) board = options.default_board;
    if (board.empty()) {
      throw ServerError(file.string() + ": no board (no " + file.filename().string() +
                        std::string(kBoardSidecarSuffix) + " beside it and no --board)");
    }
    catalog.Add(board, file.string(), ReadWholeFile(file), options);
  }
  if (catalog.entries_.empty()) throw ServerError("the catalog holds no image (*.bin, *.img)");
  if (options.patches.enabled) catalog.MakePatches(options.patches);
  return catalog;
}

void Catalog::Add(const std::string& board, const std::string& path, std::vector<uint8_t> bytes,
                  const CatalogOptions& options) {
  if (!ValidBoardName(board)) throw ServerError(path + ": '" + board + "' is not a valid board");
  std::vector<image::TrustedKey> keys;
  for (const auto& key : options.trusted_keys) keys.push_back({key.type, key.der});
  image::ValidationOptions validation;
  validation.trusted_keys = keys;
  validation.require_signature = !keys.empty();
  validation.require_bootable = true;  // a device would refuse to boot it
  ports::OpensslCrypto crypto;
  image::MemoryImageSource source(bytes);
  const auto result = image::ValidateImage(source, crypto, validation);
  if (!result.ok()) {
    char where[40];
    std::snprintf(where, sizeof where, " (at offset 0x%x)", result.error().offset);
    throw ServerError(path + ": " + image::Describe(result.error().code) + where);
  }
  const uint32_t image_bytes = result->layout.total_size;
  if (image_bytes > kMaxImageBytes) {
    throw ServerError(path + ": " + std::to_string(image_bytes) +
                      " bytes is larger than the protocol can carry");
  }
  auto entry = std::make_shared<CatalogEntry>();
  entry->board = board;
  entry->version = result->layout.header.version;
  entry->path = path;
  entry->sha256 = result->digest;
  if (result->signing_key_index) {
    std::array<uint8_t, image::kSha256DigestBytes> hash{};
    crypto.Sha256(keys[*result->signing_key_index].public_key_der, hash);
    entry->key_hash = host::HexString(hash);
  } else {
    entry->key_hash = NamedKeyHash(bytes, result->layout, crypto);
  }
  // Padding or a trailer after the image (imgtool --pad) is not the image:
  // a device writes what it receives at offset 0 of its slot.
  bytes.resize(image_bytes);
  bytes.shrink_to_fit();
  entry->bytes = std::make_shared<const std::vector<uint8_t>>(std::move(bytes));

  auto& indexes = by_board_[board];
  for (size_t i : indexes) {
    const CatalogEntry& other = *entries_[i];
    if (image::CompareVersions(other.version, entry->version) == 0) {
      std::string message = path + ": version " + VersionText(entry->version);
      message += " for board " + board + " is already served by " + other.path;
      message += " (devices tell versions apart by major.minor.revision only)";
      throw ServerError(message);
    }
  }
  entries_.push_back(std::move(entry));
  indexes.push_back(entries_.size() - 1);
  std::sort(indexes.begin(), indexes.end(), [this](size_t a, size_t b) {
    return image::CompareVersions(entries_[a]->version, entries_[b]->version) < 0;
  });
}

EntryPtr Catalog::NewestNewerThan(std::string_view board, const image::ImageVersion& running,
                                  const std::function<bool(const CatalogEntry&)>& skip) const {
  const auto it = by_board_.find(board);
  if (it == by_board_.end()) return nullptr;
  for (auto index = it->second.rbegin(); index != it->second.rend(); ++index) {
    const EntryPtr& entry = entries_[*index];
    if (image::CompareVersions(entry->version, running) <= 0) return nullptr;
    if (!skip || !skip(*entry)) return entry;
  }
  return nullptr;
}

}  // namespace mqota::server
