// `mqota image sign` (alias `create`), with imgtool's flags.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "image/image_commands.h"
#include "mqota/host/command_error.h"
#include "mqota/host/files.h"
#include "mqota/host/keys.h"
#include "mqota/host/numbers.h"
#include "mqota/host/signer.h"
#include "mqota/image/version.h"

namespace mqota::cli {
namespace {

struct SignArgs {
  std::string key_path, header_size, version, slot_size,
      align = "1", max_align, max_sectors, security_counter, load_addr, rom_fixed, erased_val,
      endian = "little", sha = "auto", public_key_format = "hash", infile, outfile;
  bool pad_header = false, pad = false, confirm = false, test = false, overwrite_only = false,
       non_bootable = false, pad_sig = false;
  // imgtool options mqota does not implement: refused, never silently ignored.
  std::vector<std::string> unsupported_values;
  std::vector<std::string> unsupported_flags;
};

bool IsIntelHex(const std::string& path) {
  return path.size() >= 4 && (path.ends_with(".hex") || path.ends_with(".HEX"));
}

host::SignOptions ToOptions(const SignArgs& a) {
  host::SignOptions o;
  o.header_size = static_cast<uint32_t>(host::ParseInteger(a.header_size, "-H/--header-size"));
  const auto version = image::ParseVersion(a.version);
  if (!version) {
    throw host::UsageError(
        "-v/--version: '" + a.version +
        "' is not a valid version; use maj.min.rev+build with later parts optional");
  }
  o.version = *version;
  o.slot_size = static_cast<uint32_t>(host::ParseInteger(a.slot_size, "-S/--slot-size"));
  o.align = static_cast<uint32_t>(std::stoul(a.align));
  if (!a.max_align.empty()) o.max_align = static_cast<uint32_t>(std::stoul(a.max_align));
  if (!a.max_sectors.empty()) {
    o.max_sectors = static_cast<uint32_t>(host::ParseInteger(a.max_sectors, "-M/--max-sectors"));
  }
  o.pad_header = a.pad_header;
  o.confirm = a.confirm;
  o.pad = a.pad || a.confirm || a.test;
  o.overwrite_only = a.overwrite_only;
  o.erased_value = a.erased_val == "0" ? 0x00 : 0xff;
  if (!a.security_counter.empty()) {
    o.security_counter = a.security_counter == "auto"
                             ? host::AutoSecurityCounter(o.version)
                             : static_cast<uint32_t>(
                                   host::ParseInteger(a.security_counter, "-s/--security-counter"));
  }
  if (!a.load_addr.empty()) {
    o.load_addr = static_cast<uint32_t>(host::ParseInteger(a.load_addr, "-L/--load-addr"));
  }
  if (!a.rom_fixed.empty()) {
    o.rom_fixed = static_cast<uint32_t>(host::ParseInteger(a.rom_fixed, "-F/--rom-fixed"));
  }
  o.non_bootable = a.non_bootable;
  o.public_key_full = a.public_key_format == "full";
  o.pad_signature = a.pad_sig;
  return o;
}

void RunSign(const SignArgs& a) {
  if (!a.unsupported_values.empty() || !a.unsupported_flags.empty()) {
    const std::string name =
        a.unsupported_values.empty() ? a.unsupported_flags.front() : a.unsupported_values.front();
    throw host::UsageError(name + " is not supported by mqota image sign");
  }
  if (a.endian != "little") throw host::UsageError("big-endian images are not supported");
  if (a.sha != "auto" && a.sha != "256") {
    throw host::UsageError("--sha " + a.sha + " is not supported; MCUboot images here use SHA-256");
  }
  if (IsIntelHex(a.infile) || IsIntelHex(a.outfile)) {
    throw host::UsageError("Intel HEX files are not supported; convert with objcopy -O binary");
  }
  const host::SignOptions options = ToOptions(a);
  std::optional<host::Key> key;
  if (!a.key_path.empty()) key = host::Key::Load(a.key_path);
  std::vector<uint8_t> input = host::ReadFile(a.infile);
  const auto out = host::BuildSignedImage(std::move(input), options, key ? &*key : nullptr);
  host::WriteFileAtomically(a.outfile, out);
}

}  // namespace

void AddSignCommand(CLI::App& image) {
  auto a = std::make_shared<SignArgs>();
  auto* cmd = image.add_subcommand("sign", "Create a signed (or, without -k, hash-only) image");
  cmd->alias("create");
  cmd->add_option("-k,--key", a->key_path, "Private key (ecdsa-p256 or ed25519); none: unsigned");
  cmd->add_option("-H,--header-size", a->header_size, "Header size (ih_hdr_size), e.g. 0x400")
      ->required();
  cmd->add_flag("--pad-header", a->pad_header,
                "Prepend --header-size bytes (of the erased value) for the header");
  cmd->add_option("-v,--version", a->version, "Version maj.min.rev+build")->required();
  cmd->add_option("-S,--slot-size", a->slot_size, "Slot size; image + trailer must fit")
      ->required();
  cmd->add_option("--align", a->align, "Flash write size W (for the trailer size check)")
      ->check(CLI::IsMember({"1", "2", "4", "8", "16", "32"}));
  cmd->add_option("--max-align", a->max_align, "Maximum flash alignment M (default max(8, W))")
      ->check(CLI::IsMember({"8", "16", "32"}));
  cmd->add_option("-M,--max-sectors", a->max_sectors, "Sectors in the swap status (default 128)");
  cmd->add_flag("--pad", a->pad, "Pad to --slot-size and add the trailer magic (pending test)");
  cmd->add_flag("--confirm", a->confirm, "Like --pad, and set image_ok (pending permanent)");
  cmd->add_flag("--test", a->test, "Same as --pad");
  cmd->add_flag("--overwrite-only", a->overwrite_only, "Size the trailer for overwrite-only");
  cmd->add_option("-R,--erased-val", a->erased_val, "Erased flash value used for padding")
      ->check(CLI::IsMember({"0", "0xff"}));
  cmd->add_option("-s,--security-counter", a->security_counter,
                  "Add a SEC_CNT TLV: a number, or 'auto' (from the version)");
  cmd->add_option("-L,--load-addr", a->load_addr, "RAM load address (sets RAM_LOAD)");
  cmd->add_option("-F,--rom-fixed", a->rom_fixed, "Flash address the image is built for");
  cmd->add_flag("--non-bootable", a->non_bootable, "Mark the image non-bootable");
  cmd->add_option("-e,--endian", a->endian, "Byte order (only little)")
      ->check(CLI::IsMember({"little", "big"}));
  cmd->add_option("--sha", a->sha, "Hash algorithm (auto = 256)")
      ->check(CLI::IsMember({"auto", "256", "384", "512"}));
  cmd->add_option("--public-key-format", a->public_key_format, "KEYHASH (hash) or PUBKEY (full)")
      ->check(CLI::IsMember({"hash", "full"}));
  cmd->add_flag("--pad-sig", a->pad_sig,
                "Zero-pad the ECDSA signature to 72 bytes (MCUboot < 1.5)");
  for (const char* name : {"-d,--dependencies", "--boot-record", "-E,--encrypt", "--encrypt-keylen",
                           "--compression", "--fix-sig", "--fix-sig-pubkey", "--sig-out",
                           "--vector-to-sign", "--vid", "--cid", "-x,--hex-addr", "--hmac-sha"}) {
    cmd->add_option_function<std::string>(
           name, [a, name](const std::string&) { a->unsupported_values.push_back(name); },
           "Not supported by mqota")
        ->group("Unsupported imgtool options");
  }
  cmd->add_option_function<std::vector<std::string>>(
         "--custom-tlv,--custom-tlv-file",
         [a](const std::vector<std::string>&) { a->unsupported_values.push_back("--custom-tlv"); },
         "Not supported by mqota")
      ->expected(2)
      ->group("Unsupported imgtool options");
  for (const char* name : {"--pure", "--save-enctlv", "-c,--clear"}) {
    cmd->add_flag_callback(
           name, [a, name] { a->unsupported_flags.push_back(name); }, "Not supported by mqota")
        ->group("Unsupported imgtool options");
  }
  cmd->add_option("infile", a->infile, "Input binary")->required();
  cmd->add_option("outfile", a->outfile, "Output image")->required();
  cmd->callback([a] { RunSign(*a); });
}

}  // namespace mqota::cli
