// Test helpers: files, hex strings, and the imgtool vectors in tests/vectors.
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <vector>

namespace mqota::testing {

std::vector<uint8_t> ReadFileBytes(const std::filesystem::path& path);
// `size` bytes from `offset` (fewer where the file ends): e.g. a slot of a
// flash file.
std::vector<uint8_t> ReadFileBytes(const std::filesystem::path& path, uint64_t offset, size_t size);
void WriteFileBytes(const std::filesystem::path& path, std::span<const uint8_t> bytes);

std::vector<uint8_t> FromHex(const std::string& hex);
std::string ToHex(std::span<const uint8_t> bytes);

// build/firmware/<name>: the signed demo images and their signing key.
std::filesystem::path FirmwarePath(const std::string& name);

// tests/vectors/imgtool/<name>
std::filesystem::path VectorPath(const std::string& name);
// tests/vectors/imgtool/expected.json
const nlohmann::json& ExpectedVectors();

// A fresh, empty directory for one test, removed with its contents by the
// destructor.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

}  // namespace mqota::testing
