// `mqota image dumpinfo`: what an image file holds, as imgtool's dumpinfo
// reports it (same JSON keys), plus the digest computed over the hashed region.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace mqota::host {

// imgtool's JSON shape: filename, header{magic, load_addr, hdr_size,
// protected_tlv_size, img_size, flags, version}, tlv_area{tlv_hdr_prot,
// tlvs_prot, tlv_hdr, tlvs[{type, type_name, len, data}]}, trailer{magic,
// image_ok, copy_done, swap_info, swap_size} (when the file extends past the
// image), and mqota's addition: digest{computed, matches_tlv}.
// Throws CommandError(kExitVerifyFailed) when the layout cannot be parsed.
nlohmann::json DumpImageInfo(const std::string& filename, const std::vector<uint8_t>& bytes);

// The same facts for a person to read.
std::string FormatImageInfoHuman(const nlohmann::json& info);

}  // namespace mqota::host
