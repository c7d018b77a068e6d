#include "delta_bench_pairs.h"

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace mqota::bench {
namespace {

namespace fs = std::filesystem;

std::vector<uint8_t> ReadAll(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void WriteAll(const fs::path& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
}

bool Run(const std::string& command) {
  return std::system((command + " >/dev/null 2>&1").c_str()) == 0;
}

// How a synthetic program differs from the base one.
struct Variant {
  std::string name;
  int changed_constant = -1;  // index of the function whose constant changes
  int added_function_at = -1;
  int library_version = 1;
  std::string optimisation = "-Os";
};

uint32_t Mix(uint32_t x) {
  x ^= x >> 16;
  x *= 0x7feb352du;
  x ^= x >> 15;
  x *= 0x846ca68bu;
  return x ^ (x >> 16);
}

// One function: a table, a loop and a call to its predecessor, so moving
// code shifts relative branches and literal-pool addresses, as in firmware.
void EmitFunction(std::ostream& c, const std::string& name, const std::string& previous,
                  uint32_t seed) {
  c << "static const unsigned t_" << name << "[8] = {";
  for (int i = 0; i < 8; ++i) c << (Mix(seed + i) & 0xffffu) << (i < 7 ? "," : "};\n");
  c << "static const char s_" << name << "[] = \"" << name << ": state " << (Mix(seed) % 97)
    << "\";\n";
  c << "unsigned " << name << "(unsigned x) {\n  unsigned y = x * " << (Mix(seed + 11) | 1u)
    << "u + " << (Mix(seed + 12) & 0xfffu) << "u;\n  for (unsigned i = 0; i < "
    << 2 + Mix(seed + 13) % 6 << "; ++i) {\n    y ^= t_" << name << "[i & 7] + (y << "
    << 1 + Mix(seed + 14) % 7 << ");\n    if (y & " << (1u << (Mix(seed + 15) % 16))
    << "u) y += (unsigned)s_" << name << "[i % sizeof s_" << name << "];\n  }\n";
  if (!previous.empty()) c << "  if ((y & 3u) == 1u) y += " << previous << "(y >> 3);\n";
  c << "  return y;\n}\n";
}

std::string Source(const Variant& v, int functions) {
  std::ostringstream c;
  std::vector<std::string> names;
  const int library = functions / 4;
  // The library first, as a vendor SDK usually links before the app.
  for (int i = 0; i < library + (v.library_version > 1 ? 8 : 0); ++i) {
    const std::string name = "lib_" + std::to_string(i);
    // v2 changes about a third of the functions and adds 8.
    const uint32_t seed = 5000 + i + (v.library_version > 1 && Mix(i) % 3 == 0 ? 77777 : 0);
    EmitFunction(c, name, names.empty() ? "" : names.back(), seed);
    names.push_back(name);
  }
  for (int i = 0; i < functions; ++i) {
    if (i == v.added_function_at) {
      EmitFunction(c, "app_new", names.back(), 424242);
      names.push_back("app_new");
    }
    const std::string name = "app_" + std::to_string(i);
    EmitFunction(c, name, names.back(), i == v.changed_constant ? 90000 + i : 1000 + i);
    names.push_back(name);
  }
  c << "volatile unsigned sink;\nint main(void) {\n";
  for (const auto& n : names) c << "  sink += " << n << "(sink);\n";
  c << "  for (;;) {}\n}\n";
  return c.str();
}

std::vector<uint8_t> Build(const fs::path& work, const Variant& v, int functions,
                           const std::string& mqota, const std::string& version) {
  // Names like "-Os -> -O2" are not for a shell: the folder gets a plain one.
  std::string folder;
  for (char ch : v.name) folder += std::isalnum(static_cast<unsigned char>(ch)) != 0 ? ch : '_';
  const fs::path dir = work / folder;
  fs::create_directories(dir);
  {
    std::ofstream src(dir / "fw.c");
    src << Source(v, functions);
  }
  const std::string d = dir.string();
  if (!Run("arm-none-eabi-gcc -mcpu=cortex-m4 -mthumb " + v.optimisation +
           " -ffreestanding -nostdlib -ffunction-sections -fdata-sections -Wl,--gc-sections"
           " -Wl,-e,main -Wl,-Ttext=0x10000400 -o " +
           d + "/fw.elf " + d + "/fw.c") ||
      !Run("arm-none-eabi-objcopy -O binary " + d + "/fw.elf " + d + "/fw.payload") ||
      !Run(mqota + " image sign -k " + (work / "key.pem").string() + " -v " + version +
           " -H 0x400 --pad-header --align 8 -S 0x100000 " + d + "/fw.payload " + d + "/fw.bin")) {
    throw std::runtime_error("building the synthetic firmware '" + v.name + "' failed");
  }
  return ReadAll(dir / "fw.bin");
}

std::optional<size_t> ToolSize(const fs::path& work, const ImagePair& pair,
                               const std::string& command_before_paths, bool xdelta) {
  const fs::path dir = work / "baselines";
  fs::create_directories(dir);
  WriteAll(dir / "old.bin", pair.source);
  WriteAll(dir / "new.bin", pair.target);
  const fs::path out = dir / "patch";
  fs::remove(out);
  const std::string o = (dir / "old.bin").string();
  const std::string n = (dir / "new.bin").string();
  const std::string command = xdelta
                                  ? command_before_paths + " -s " + o + " " + n + " " + out.string()
                                  : command_before_paths + " " + o + " " + n + " " + out.string();
  if (!Run(command)) return std::nullopt;
  return fs::file_size(out);
}

}  // namespace

std::vector<ImagePair> DemoPairs(const fs::path& firmware_dir) {
  const auto image = [&](const char* v) {
    return ReadAll(firmware_dir / ("demo-" + std::string(v) + ".bin"));
  };
  return {{"demo 1.0.0 -> 1.1.0", "demo minor", image("1.0.0"), image("1.1.0")},
          {"demo 1.1.0 -> 1.2.0", "demo minor", image("1.1.0"), image("1.2.0")}};
}

std::vector<ImagePair> SyntheticPairs(const fs::path& work, const std::string& mqota,
                                      int functions) {
  fs::create_directories(work);
  if (!Run(mqota + " image keygen -k " + (work / "key.pem").string() + " -t ecdsa-p256 --force")) {
    throw std::runtime_error("mqota image keygen failed (is " + mqota + " built?)");
  }
  const Variant base{"base", -1, -1, 1, "-Os"};
  const auto old_image = Build(work, base, functions, mqota, "1.0.0");
  const auto pair = [&](const std::string& name, Variant v) {
    v.name = name;
    return ImagePair{name, "synthetic", old_image, Build(work, v, functions, mqota, "1.0.1")};
  };
  return {pair("constant changed", {"", functions / 2, -1, 1, "-Os"}),
          pair("function added", {"", -1, functions / 4, 1, "-Os"}),
          pair("library upgraded", {"", -1, -1, 2, "-Os"}),
          pair("-Os -> -O2", {"", -1, -1, 1, "-O2"})};
}

std::optional<size_t> BsdiffSize(const fs::path& work, const ImagePair& pair) {
  return ToolSize(work, pair, "bsdiff", false);
}

std::optional<size_t> Xdelta3Size(const fs::path& work, const ImagePair& pair) {
  return ToolSize(work, pair, "xdelta3 -e -9 -f", true);
}

}  // namespace mqota::bench
