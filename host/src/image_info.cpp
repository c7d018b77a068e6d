#include "mqota/host/image_info.h"

#include <openssl/evp.h>

#include <cstdio>
#include <filesystem>
#include <sstream>

#include "mqota/base/endian.h"
#include "mqota/boot/trailer_format.h"
#include "mqota/host/command_error.h"
#include "mqota/host/hex.h"
#include "mqota/host/image_failure.h"
#include "mqota/image/layout.h"
#include "mqota/image/tlv.h"
#include "mqota/image/version.h"

namespace mqota::host {
namespace {

using nlohmann::json;

std::string Hex(uint64_t value) {
  char text[24];
  std::snprintf(text, sizeof text, "0x%llx", static_cast<unsigned long long>(value));
  return text;
}

json TlvList(image::ImageSource& source, const image::ImageLayout& layout,
             image::TlvIterator::Block block, std::span<const uint8_t> bytes,
             const std::string& filename) {
  json list = json::array();
  image::TlvIterator it(source, layout, block);
  while (true) {
    auto entry = it.Next();
    if (!entry.ok()) throw ImageFailure(filename, entry.error());
    if (!entry->has_value()) return list;
    const image::TlvEntry& e = **entry;
    list.push_back({{"type", e.type},
                    {"type_name", image::TlvTypeName(e.type)},
                    {"len", e.length},
                    {"data", HexString(bytes.subspan(e.value_offset, e.length))}});
  }
}

// The trailer at the end of a padded image file, decoded as imgtool does: the
// magic's variant tells M, which places the other fields.
json Trailer(std::span<const uint8_t> bytes) {
  const auto magic = bytes.last(boot::kMagicSizeBytes);
  json trailer = {{"magic", HexString(magic)}};
  uint32_t max_align = 0;
  if (std::equal(magic.begin(), magic.end(), boot::kBootMagic.begin())) {
    max_align = boot::kDefaultMaxAlign;
  } else if (std::equal(magic.begin() + 2, magic.end(), boot::kBootMagicTail.begin())) {
    max_align = LoadLe16(magic, 0);
  }
  boot::TrailerGeometry geometry;
  geometry.max_align = max_align;
  if (max_align == 0 || !geometry.IsValid() || bytes.size() < geometry.swap_size_from_end()) {
    trailer["magic_valid"] = false;
    return trailer;
  }
  const size_t end = bytes.size();
  trailer["magic_valid"] = true;
  trailer["image_ok"] = bytes[end - geometry.image_ok_from_end()];
  trailer["copy_done"] = bytes[end - geometry.copy_done_from_end()];
  trailer["swap_info"] = bytes[end - geometry.swap_info_from_end()];
  trailer["swap_size"] = LoadLe32(bytes, end - geometry.swap_size_from_end());
  return trailer;
}

}  // namespace

json DumpImageInfo(const std::string& filename, const std::vector<uint8_t>& bytes) {
  image::MemoryImageSource source(bytes);
  auto parsed = image::ParseLayout(source);
  if (!parsed.ok()) throw ImageFailure(filename, parsed.error());
  const image::ImageLayout& layout = *parsed;
  const image::ImageHeader& h = layout.header;
  std::array<char, image::kVersionTextBytes> version{};
  image::FormatVersion(h.version, version);

  json info;
  info["filename"] = std::filesystem::path(filename).filename().string();
  info["header"] = {{"magic", h.magic},         {"load_addr", h.load_addr},
                    {"hdr_size", h.hdr_size},   {"protected_tlv_size", h.protect_tlv_size},
                    {"img_size", h.img_size},   {"flags", h.flags},
                    {"version", version.data()}};
  json tlv_area;
  tlv_area["tlv_hdr_prot"] = json::object();
  tlv_area["tlvs_prot"] = json::array();
  if (h.protect_tlv_size != 0) {
    tlv_area["tlv_hdr_prot"] = {{"magic", image::kTlvProtectedInfoMagic},
                                {"tlv_tot", h.protect_tlv_size}};
    tlv_area["tlvs_prot"] =
        TlvList(source, layout, image::TlvIterator::Block::kProtected, bytes, filename);
  }
  tlv_area["tlv_hdr"] = {{"magic", image::kTlvInfoMagic}, {"tlv_tot", layout.tlv_size}};
  tlv_area["tlvs"] =
      TlvList(source, layout, image::TlvIterator::Block::kUnprotected, bytes, filename);
  info["tlv_area"] = tlv_area;
  info["trailer"] = bytes.size() > layout.total_size ? Trailer(bytes) : json::object();

  std::array<uint8_t, 32> digest{};
  unsigned int len = 0;
  EVP_Digest(bytes.data(), layout.hashed_size, digest.data(), &len, EVP_sha256(), nullptr);
  bool matches = false;
  for (const auto& t : info["tlv_area"]["tlvs"]) {
    if (t["type"] == image::tlv::kSha256 && t["data"] == HexString(digest)) matches = true;
  }
  info["digest"] = {{"computed", HexString(digest)},
                    {"hashed_size", layout.hashed_size},
                    {"matches_tlv", matches}};
  return info;
}

std::string FormatImageInfoHuman(const json& info) {
  std::ostringstream out;
  const json& h = info["header"];
  out << "Image " << info["filename"].get<std::string>() << "\n\n"
      << "Header (offset 0x0)\n"
      << "  magic:              " << Hex(h["magic"].get<uint32_t>()) << "\n"
      << "  load_addr:          " << Hex(h["load_addr"].get<uint32_t>()) << "\n"
      << "  hdr_size:           " << Hex(h["hdr_size"].get<uint32_t>()) << "\n"
      << "  protected_tlv_size: " << Hex(h["protected_tlv_size"].get<uint32_t>()) << "\n"
      << "  img_size:           " << Hex(h["img_size"].get<uint32_t>()) << " ("
      << h["img_size"].get<uint32_t>() << " bytes)\n"
      << "  flags:              " << Hex(h["flags"].get<uint32_t>()) << "\n"
      << "  version:            " << h["version"].get<std::string>() << "\n";
  auto tlvs = [&out](const char* title, const json& hdr, const json& list) {
    out << "\n"
        << title << " (magic " << Hex(hdr["magic"].get<uint32_t>()) << ", "
        << hdr["tlv_tot"].get<uint32_t>() << " bytes)\n";
    for (const auto& t : list) {
      out << "  " << t["type_name"].get<std::string>() << " (" << Hex(t["type"].get<uint32_t>())
          << "), " << t["len"].get<uint32_t>() << " bytes: " << t["data"].get<std::string>()
          << "\n";
    }
  };
  const json& area = info["tlv_area"];
  if (!area["tlv_hdr_prot"].empty())
    tlvs("Protected TLVs", area["tlv_hdr_prot"], area["tlvs_prot"]);
  tlvs("TLVs", area["tlv_hdr"], area["tlvs"]);
  const json& d = info["digest"];
  out << "\nSHA-256 over the first " << d["hashed_size"].get<uint32_t>()
      << " bytes: " << d["computed"].get<std::string>()
      << (d["matches_tlv"].get<bool>() ? " (matches the SHA256 TLV)\n"
                                       : " (does NOT match the SHA256 TLV)\n");
  const json& t = info["trailer"];
  if (!t.empty()) {
    out << "\nTrailer (end of file)\n  magic:     " << t["magic"].get<std::string>()
        << (t["magic_valid"].get<bool>() ? "\n" : " (not a valid trailer magic)\n");
    if (t["magic_valid"].get<bool>()) {
      out << "  image_ok:  " << Hex(t["image_ok"].get<uint32_t>()) << "\n"
          << "  copy_done: " << Hex(t["copy_done"].get<uint32_t>()) << "\n"
          << "  swap_info: " << Hex(t["swap_info"].get<uint32_t>()) << "\n"
          << "  swap_size: " << Hex(t["swap_size"].get<uint32_t>()) << "\n";
    }
  }
  return out.str();
}

}  // namespace mqota::host
