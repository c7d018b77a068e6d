#include "mqota/board/board_config.h"

#include <sys/stat.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

#include "mqota/board/layout.h"
#include "mqota/host/keys.h"
#include "mqota/host/mqtt_names.h"
#include "mqota/ports/posix/file_flash.h"

namespace mqota::board {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

void WriteText(const fs::path& path, const std::string& text, mode_t mode) {
  const fs::path tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out.flush()) throw std::runtime_error("cannot write " + tmp.string());
  }
  chmod(tmp.c_str(), mode);
  fs::rename(tmp, path);
}

json ReadJson(const fs::path& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  json j = json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) throw std::runtime_error(path.string() + " is not a JSON object");
  return j;
}

void CreateChip(const fs::path& path, const flash::FlashGeometry& geometry) {
  auto chip = posix::FileFlash::Open(path.c_str(), geometry, posix::FileFlashMode::kCreateFresh);
  if (!chip.ok()) throw std::runtime_error(path.string() + ": " + posix::ToString(chip.error()));
}

}  // namespace

const char* Name(SwapKind kind) {
  switch (kind) {
    case SwapKind::kScratch: return "scratch";
    case SwapKind::kMove: return "move";
    case SwapKind::kOverwrite: return "overwrite";
    case SwapKind::kOffset: return "offset";
  }
  return "?";
}

void CreateBoard(const CreateRequest& r, bool force) {
  const BoardPaths paths(r.dir);
  if (fs::exists(paths.bootloader_config()) && !force) {
    throw std::runtime_error("a board already exists in " + r.dir.string() +
                             " (--force replaces it, erasing its flash)");
  }
  host::CheckBoardName(r.provisioning.board);  // one topic level; throws with the rule
  const host::Key key = host::Key::Load(r.boot_key.string());  // throws naming the file
  fs::create_directories(paths.provisioning());
  CreateChip(paths.internal_flash(), InternalFlashGeometry());
  CreateChip(paths.external_flash(), ExternalFlashGeometry());
  WriteText(paths.boot_key(), key.PublicKeyPem(), 0644);
  WriteText(
      paths.bootloader_config(),
      json{{"swap", Name(r.bootloader.swap)}, {"allow_downgrade", r.bootloader.allow_downgrade}}
              .dump(2) +
          "\n",
      0644);

  const BoardFacts& p = r.provisioning;
  json device = {{"device_id", p.device_id},
                 {"board", p.board},
                 {"serial_number", p.serial_number},
                 {"topic_prefix", p.topic_prefix},
                 {"broker_host", p.broker_host},
                 {"broker_port", p.broker_port},
                 {"tls", p.tls},
                 {"check_interval_ms", p.check_interval_ms}};
  if (p.tls) {
    const struct {
      const std::string& from;
      const char* to;
      mode_t mode;
    } copies[] = {{p.ca_file, "ca.crt", 0644},
                  {p.cert_file, "client.crt", 0644},
                  {p.key_file, "client.key", 0600}};
    for (const auto& c : copies) {
      std::ifstream in(c.from, std::ios::binary);
      if (!in) throw std::runtime_error("cannot read " + c.from);
      std::stringstream text;
      text << in.rdbuf();
      WriteText(paths.provisioning() / c.to, text.str(), c.mode);
    }
  }
  WriteText(paths.device_config(), device.dump(2) + "\n", 0644);
}

BootloaderConfig LoadBootloaderConfig(const BoardPaths& paths) {
  const json j = ReadJson(paths.bootloader_config());
  BootloaderConfig c;
  const std::string swap = j.value("swap", "scratch");
  if (swap == "scratch") {
    c.swap = SwapKind::kScratch;
  } else if (swap == "move") {
    c.swap = SwapKind::kMove;
  } else if (swap == "overwrite") {
    c.swap = SwapKind::kOverwrite;
  } else if (swap == "offset") {
    c.swap = SwapKind::kOffset;
  } else {
    throw std::runtime_error(paths.bootloader_config().string() + ": unknown swap \"" + swap +
                             "\"");
  }
  c.allow_downgrade = j.value("allow_downgrade", false);
  return c;
}

BoardFacts LoadProvisioning(const BoardPaths& paths) {
  const json j = ReadJson(paths.device_config());
  BoardFacts f;
  try {
    f.device_id = j.at("device_id").get<std::string>();
    f.serial_number = j.value("serial_number", f.device_id);
    // Boards made before the name was part of provisioning are the default.
    f.board = j.value("board", std::string(kBoardName));
    f.topic_prefix = j.value("topic_prefix", "mqota");
    f.broker_host = j.at("broker_host").get<std::string>();
    f.broker_port = j.at("broker_port").get<uint16_t>();
    f.tls = j.value("tls", true);
    f.check_interval_ms = j.value("check_interval_ms", 60000u);
  } catch (const json::exception& e) {
    throw std::runtime_error(paths.device_config().string() + ": " + e.what());
  }
  if (f.tls) {
    f.ca_file = fs::absolute(paths.provisioning() / "ca.crt").string();
    f.cert_file = fs::absolute(paths.provisioning() / "client.crt").string();
    f.key_file = fs::absolute(paths.provisioning() / "client.key").string();
  }
  return f;
}

}  // namespace mqota::board
