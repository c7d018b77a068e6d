#include "delta/delta_commands.h"

#include <cstdio>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>

#include "mqota/host/command_error.h"
#include "mqota/host/delta_encoder.h"
#include "mqota/host/files.h"
#include "mqota/host/hex.h"
#include "mqota/host/image_failure.h"
#include "mqota/image/validate.h"
#include "mqota/image/version.h"
#include "mqota/ports/openssl/openssl_crypto.h"

namespace mqota::cli {
namespace {

struct CheckedImage {
  std::vector<uint8_t> bytes;  // the image itself, without any padding or trailer after it
  image::ImageVersion version;
};

// The image in `path`, checked as `mqota image verify` does without a key
// (layout and SHA-256): a patch is made between images, not arbitrary files.
CheckedImage ReadImage(const std::string& path) {
  auto bytes = host::ReadFile(path);
  image::MemoryImageSource source(bytes);
  ports::OpensslCrypto crypto;
  image::ValidationOptions options;
  options.require_signature = false;
  options.require_bootable = false;
  const auto valid = image::ValidateImage(source, crypto, options);
  if (!valid.ok()) throw host::ImageFailure(path, valid.error());
  bytes.resize(valid->layout.total_size);
  return {std::move(bytes), valid->layout.header.version};
}

std::string VersionText(const image::ImageVersion& version) {
  std::array<char, image::kVersionTextBytes> text{};
  image::FormatVersion(version, text);
  return text.data();
}

std::string Percent(size_t part, size_t whole) {
  char text[32];
  std::snprintf(text, sizeof text, "%.2f %%",
                whole == 0 ? 0.0 : 100.0 * static_cast<double>(part) / static_cast<double>(whole));
  return text;
}

host::CommandError PatchFailure(const std::string& path, const delta::DeltaError& error) {
  return {host::kExitVerifyFailed, path + ": " + delta::Describe(error.code)};
}

void AddMake(CLI::App& delta) {
  struct Args {
    std::string old_path, new_path, output;
    uint32_t block_bytes = host::DeltaOptions{}.block_bytes;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = delta.add_subcommand(
      "make", "Make a patch that turns the signed image OLD into the signed image NEW");
  cmd->add_option("OLD", args->old_path, "Source image (the one devices run)")->required();
  cmd->add_option("NEW", args->new_path, "Target image")->required();
  cmd->add_option("-o,--output", args->output, "Patch file to write")->required();
  cmd->add_option("--block-size", args->block_bytes,
                  "Target bytes per block: a multiple of the target slot's sector size; a power "
                  "cut re-fetches at most one block")
      ->capture_default_str();
  cmd->callback([args] {
    const CheckedImage old_image = ReadImage(args->old_path);
    const CheckedImage new_image = ReadImage(args->new_path);
    host::DeltaOptions options;
    options.block_bytes = args->block_bytes;
    options.source_version = old_image.version;
    options.target_version = new_image.version;
    const auto patch = host::MakeDeltaPatch(old_image.bytes, new_image.bytes, options);
    // The patch is checked by applying it, with the device's decoder, before
    // anyone can ship it.
    const auto applied = host::ApplyDeltaPatch(old_image.bytes, patch);
    if (!applied.ok() || applied->target != new_image.bytes) {
      throw host::CommandError(host::kExitUsage, "internal error: the patch does not apply");
    }
    host::WriteFileAtomically(args->output, patch);
    std::cout << args->output << ": " << patch.size() << " bytes, "
              << Percent(patch.size(), new_image.bytes.size()) << " of the "
              << new_image.bytes.size() << "-byte image " << VersionText(new_image.version)
              << " (from " << VersionText(old_image.version) << ", " << applied->header.block_count
              << " blocks of " << options.block_bytes << " bytes)\n";
  });
}

void AddApply(CLI::App& delta) {
  struct Args {
    std::string old_path, patch_path, output;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = delta.add_subcommand(
      "apply", "Apply PATCH to the signed image OLD, with the device's decoder, into NEW");
  cmd->add_option("OLD", args->old_path, "Source image the patch was made from")->required();
  cmd->add_option("PATCH", args->patch_path, "Patch file")->required();
  cmd->add_option("-o,--output", args->output, "Image file to write")->required();
  cmd->callback([args] {
    const auto patch = host::ReadFile(args->patch_path);
    const auto header = host::ReadPatchHeader(patch);
    if (!header.ok()) throw PatchFailure(args->patch_path, header.error());
    const CheckedImage old_image = ReadImage(args->old_path);
    std::array<uint8_t, delta::kDigestBytes> digest{};
    ports::OpensslCrypto crypto;
    crypto.Sha256(old_image.bytes, digest);
    if (digest != header->source_sha256) {
      throw host::CommandError(host::kExitVerifyFailed,
                               args->old_path + " is not this patch's source: its SHA-256 is " +
                                   host::HexString(digest).substr(0, 16) + "…, the patch needs " +
                                   host::HexString(header->source_sha256).substr(0, 16) +
                                   "… (version " + VersionText(header->source_version) + ")");
    }
    const auto applied = host::ApplyDeltaPatch(old_image.bytes, patch);
    if (!applied.ok()) throw PatchFailure(args->patch_path, applied.error());
    host::WriteFileAtomically(args->output, applied->target);
    std::cout << args->output << ": " << applied->target.size() << " bytes, version "
              << VersionText(header->target_version) << ", SHA-256 "
              << host::HexString(header->target_sha256) << "\n";
  });
}

nlohmann::json InfoJson(const std::string& path, const delta::PatchHeader& h, size_t size) {
  return {{"file", path},
          {"format", h.format},
          {"patch_size", size},
          {"block_bytes", h.block_bytes},
          {"block_count", h.block_count},
          {"source",
           {{"size", h.source_size_bytes},
            {"sha256", host::HexString(h.source_sha256)},
            {"version", VersionText(h.source_version)}}},
          {"target",
           {{"size", h.target_size_bytes},
            {"sha256", host::HexString(h.target_sha256)},
            {"version", VersionText(h.target_version)}}}};
}

void AddInfo(CLI::App& delta) {
  struct Args {
    std::string patch_path;
    bool json = false;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = delta.add_subcommand("info", "Print what a patch turns into what (its header)");
  cmd->add_option("PATCH", args->patch_path, "Patch file")->required();
  cmd->add_flag("--json", args->json, "Print JSON instead of text");
  cmd->callback([args] {
    const auto patch = host::ReadFile(args->patch_path);
    const auto header = host::ReadPatchHeader(patch);
    if (!header.ok()) throw PatchFailure(args->patch_path, header.error());
    const auto& h = *header;
    if (args->json) {
      std::cout << InfoJson(args->patch_path, h, patch.size()).dump(2) << "\n";
      return;
    }
    std::cout << "patch:  " << args->patch_path << ", " << patch.size() << " bytes ("
              << Percent(patch.size(), h.target_size_bytes) << " of the target), format "
              << int{h.format} << "\n"
              << "blocks: " << h.block_count << " of " << h.block_bytes << " bytes\n"
              << "source: " << VersionText(h.source_version) << ", " << h.source_size_bytes
              << " bytes, SHA-256 " << host::HexString(h.source_sha256) << "\n"
              << "target: " << VersionText(h.target_version) << ", " << h.target_size_bytes
              << " bytes, SHA-256 " << host::HexString(h.target_sha256) << "\n";
  });
}

}  // namespace

void AddDeltaCommands(CLI::App& app) {
  auto* delta = app.add_subcommand(
      "delta", "Delta patches between signed images: make, apply (as a device would), info");
  delta->require_subcommand(1);
  AddMake(*delta);
  AddApply(*delta);
  AddInfo(*delta);
}

}  // namespace mqota::cli
