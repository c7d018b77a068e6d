// A virtual board on disk: one directory holding its two flash chips, the
// bootloader's configuration and the device's provisioning area.
//
//   DIR/internal-flash.bin      the MCU's flash: boot area, primary slot, scratch (layout.h)
//   DIR/external-flash.bin      the QSPI NOR chip: secondary slot, download journal
//   DIR/bootloader.json         how its bootloader was built: swap algorithm, key
//   DIR/boot-key.pem            the public key the bootloader trusts
//   DIR/provisioning/device.json, ca.crt, client.crt, client.key
//                               what the production line wrote: identity, broker
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "mqota/board/channel.h"

namespace mqota::board {

enum class SwapKind { kScratch, kMove, kOverwrite, kOffset };
const char* Name(SwapKind kind);  // "scratch", "move", "overwrite", "offset"

struct BootloaderConfig {
  SwapKind swap = SwapKind::kScratch;
  bool allow_downgrade = false;
};

struct BoardPaths {
  explicit BoardPaths(std::filesystem::path board_dir) : dir(std::move(board_dir)) {}
  std::filesystem::path dir;
  std::filesystem::path internal_flash() const { return dir / "internal-flash.bin"; }
  std::filesystem::path external_flash() const { return dir / "external-flash.bin"; }
  std::filesystem::path bootloader_config() const { return dir / "bootloader.json"; }
  std::filesystem::path boot_key() const { return dir / "boot-key.pem"; }
  std::filesystem::path provisioning() const { return dir / "provisioning"; }
  std::filesystem::path device_config() const { return provisioning() / "device.json"; }
};

// What `mqota-board create` needs.
struct CreateRequest {
  std::filesystem::path dir;
  std::filesystem::path boot_key;  // PEM, public or private (only the public part is kept)
  BootloaderConfig bootloader;
  BoardFacts provisioning;  // ca/cert/key: files to copy into the provisioning area
};

// Creates the board: erased flash chips, the bootloader's config and key, the
// provisioning area (certificates copied, the key 0600). Refuses an existing
// board unless `force`. Throws std::runtime_error with a sentence.
void CreateBoard(const CreateRequest& request, bool force);

// Loads what a power-on needs. Throws std::runtime_error with a sentence.
BootloaderConfig LoadBootloaderConfig(const BoardPaths& paths);
// The provisioning area as facts (paths absolute; no key or boot record yet).
BoardFacts LoadProvisioning(const BoardPaths& paths);

}  // namespace mqota::board
