// The image pairs the delta benchmark measures: the demo firmware's releases
// and synthetic firmware compiled for a Cortex-M4 at bench time, each pair
// signed with `mqota image sign`; and the baselines' patch sizes.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace mqota::bench {

struct ImagePair {
  std::string name;
  std::string kind;  // "demo minor" or "synthetic"
  std::vector<uint8_t> source;
  std::vector<uint8_t> target;
};

// The demo firmware's 1.0.0 -> 1.1.0 and 1.1.0 -> 1.2.0 (build/firmware).
// Throws std::runtime_error when an image is missing.
std::vector<ImagePair> DemoPairs(const std::filesystem::path& firmware_dir);

// Real compiled code: a generated program of `functions` functions and a
// generated library, built with arm-none-eabi-gcc (-mcpu=cortex-m4 -mthumb),
// flattened with objcopy and signed; pairs: a constant changed, a function
// added, the library upgraded, -Os changed to -O2.
std::vector<ImagePair> SyntheticPairs(const std::filesystem::path& work, const std::string& mqota,
                                      int functions);

// Size of the patch Debian's `bsdiff` / `xdelta3 -9` makes for a pair; nullopt
// when the tool is missing or fails.
std::optional<size_t> BsdiffSize(const std::filesystem::path& work, const ImagePair& pair);
std::optional<size_t> Xdelta3Size(const std::filesystem::path& work, const ImagePair& pair);

}  // namespace mqota::bench
