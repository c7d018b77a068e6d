// The catalog: versions from the image header, the newest strictly newer
// image per board, and every broken or ambiguous input refused at load with
// one line naming the file.
#include "mqota/server/catalog.h"

#include <gtest/gtest.h>

#include <set>

#include "mqota/host/hex.h"
#include "mqota/image/layout.h"
#include "test_images.h"

namespace mqota::server {
namespace {

using mqota::testing::TempDir;
using mqota::testing::VectorPath;
using mqota::testing::WriteFileBytes;
using testing::SignedImage;
using testing::TestKey;
using testing::TrustingTestKey;

void WriteText(const std::filesystem::path& path, const std::string& text) {
  WriteFileBytes(path, {reinterpret_cast<const uint8_t*>(text.data()), text.size()});
}

std::string LoadError(const std::vector<std::filesystem::path>& paths,
                      const CatalogOptions& options) {
  try {
    Catalog::Load(paths, options);
  } catch (const ServerError& e) {
    return e.what();
  }
  return "(loaded)";
}

TEST(Catalog, TakesVersionFromTheHeaderAndDropsPadding) {
  // imgtool's padded image: 64 KiB with a trailer; the image itself is shorter.
  CatalogOptions options = TrustingTestKey();
  options.default_board = "B1";
  const Catalog catalog = Catalog::Load({VectorPath("ecdsa-v1.2.3+4-pad-slot64k.bin")}, options);
  ASSERT_EQ(catalog.entries().size(), 1u);
  const CatalogEntry& e = *catalog.entries()[0];
  EXPECT_EQ(e.board, "B1");
  EXPECT_EQ(e.version, (image::ImageVersion{1, 2, 3, 4}));
  EXPECT_EQ(e.ProtocolVersion(), "1.2.3");
  EXPECT_EQ(e.Sha256Hex(), "1fb210f9cea4b17e76b62e87718f462d85d77528cb5280d9660994944db154cd");
  const auto padded = mqota::testing::ReadFileBytes(VectorPath("ecdsa-v1.2.3+4-pad-slot64k.bin"));
  image::MemoryImageSource source(padded);
  const auto layout = image::ParseLayout(source);
  ASSERT_TRUE(layout.ok());
  ASSERT_EQ(e.bytes->size(), layout->total_size);
  EXPECT_LT(e.bytes->size(), padded.size());
  EXPECT_TRUE(std::equal(e.bytes->begin(), e.bytes->end(), padded.begin()));
}

TEST(Catalog, NewestStrictlyNewerVersionPerBoard) {
  Catalog catalog;
  const CatalogOptions options = TrustingTestKey();
  catalog.Add("A", "a-1.0.0", SignedImage({1, 0, 0, 0}, 3000), options);
  catalog.Add("A", "a-1.2.0", SignedImage({1, 2, 0, 0}, 3000), options);
  catalog.Add("A", "a-1.1.5", SignedImage({1, 1, 5, 0}, 3000), options);
  catalog.Add("B", "b-3.0.0", SignedImage({3, 0, 0, 0}, 3000), options);
  auto newest = [&](std::string_view board, image::ImageVersion v) {
    const EntryPtr e = catalog.NewestNewerThan(board, v);
    return e ? e->path : std::string("none");
  };
  EXPECT_EQ(newest("A", {0, 9, 0, 0}), "a-1.2.0");
  EXPECT_EQ(newest("A", {1, 1, 9, 0}), "a-1.2.0");
  EXPECT_EQ(newest("A", {1, 2, 0, 0}), "none");  // equal is not newer
  EXPECT_EQ(newest("A", {2, 0, 0, 0}), "none");
  EXPECT_EQ(newest("B", {1, 2, 0, 0}), "b-3.0.0");
  EXPECT_EQ(newest("C", {0, 0, 0, 0}), "none");  // unknown board
  EXPECT_EQ(newest("a", {0, 0, 0, 0}), "none");  // boards are case-sensitive, as devices compare
}

TEST(Catalog, BuildNumberDoesNotMakeAnImageNewer) {
  Catalog catalog;
  catalog.Add("A", "a", SignedImage({1, 2, 0, 7}, 1000), TrustingTestKey());
  // The protocol carries major.minor.build only; a device at 1.2.0 is current.
  EXPECT_EQ(catalog.NewestNewerThan("A", {1, 2, 0, 0}), nullptr);
  EXPECT_NE(catalog.NewestNewerThan("A", {1, 1, 65535, 0}), nullptr);
}

TEST(Catalog, SkippedEntriesGiveWayToTheNextNewestThatIsStillNewer) {
  Catalog catalog;
  const CatalogOptions options = TrustingTestKey();
  catalog.Add("A", "a-1.0.0", SignedImage({1, 0, 0, 0}, 3000), options);
  catalog.Add("A", "a-1.3.0", SignedImage({1, 3, 0, 0}, 3000), options);
  catalog.Add("A", "a-1.1.0", SignedImage({1, 1, 0, 0}, 3000), options);
  catalog.Add("A", "a-1.2.0", SignedImage({1, 2, 0, 0}, 3000), options);
  catalog.Add("B", "b-1.4.0", SignedImage({1, 4, 0, 0}, 3000), options);
  std::vector<std::string> asked;
  auto newest = [&](image::ImageVersion running, std::set<std::string> skipped) {
    asked.clear();
    const EntryPtr e = catalog.NewestNewerThan("A", running, [&](const CatalogEntry& entry) {
      asked.push_back(entry.path);
      return skipped.count(entry.path) > 0;
    });
    return e ? e->path : std::string("none");
  };
  EXPECT_EQ(newest({1, 0, 0, 0}, {}), "a-1.3.0");
  EXPECT_EQ(newest({1, 0, 0, 0}, {"a-1.3.0"}), "a-1.2.0");
  EXPECT_EQ(asked, (std::vector<std::string>{"a-1.3.0", "a-1.2.0"}));  // newest first
  EXPECT_EQ(newest({1, 0, 0, 0}, {"a-1.3.0", "a-1.2.0"}), "a-1.1.0");
  EXPECT_EQ(newest({1, 0, 0, 0}, {"a-1.2.0"}), "a-1.3.0");  // only what is skipped
  // Only skipped ones are newer: nothing, not an older or equal image.
  EXPECT_EQ(newest({1, 1, 0, 0}, {"a-1.3.0", "a-1.2.0"}), "none");
  EXPECT_EQ(newest({1, 2, 0, 0}, {"a-1.3.0"}), "none");
  EXPECT_EQ(asked, (std::vector<std::string>{"a-1.3.0"}));  // 1.2.0 is not newer: not asked
  EXPECT_EQ(newest({0, 9, 0, 0}, {"a-1.3.0", "a-1.2.0", "a-1.1.0", "a-1.0.0"}), "none");
  // Another board's images are never candidates, nor is anything for an unknown board.
  EXPECT_EQ(newest({1, 2, 0, 0}, {"a-1.3.0", "b-1.4.0"}), "none");
  EXPECT_EQ(catalog.NewestNewerThan("C", {0, 0, 0, 0}, [](const CatalogEntry&) { return false; }),
            nullptr);
}

TEST(Catalog, LoadsADirectoryWithBoardSidecars) {
  TempDir dir;
  WriteFileBytes(dir / "app-1.bin", SignedImage({1, 0, 0, 0}, 5000));
  WriteText(dir / "app-1.bin.board", "  BOARD_X \n");
  WriteFileBytes(dir / "app-2.img", SignedImage({2, 0, 0, 0}, 5000));  // default board
  WriteText(dir / "notes.txt", "not an image");                        // ignored
  CatalogOptions options = TrustingTestKey();
  options.default_board = "BOARD_Y";
  const Catalog catalog = Catalog::Load({dir.path()}, options);
  ASSERT_EQ(catalog.entries().size(), 2u);
  EXPECT_EQ(catalog.NewestNewerThan("BOARD_X", {0, 0, 0, 0})->version.major, 1);
  EXPECT_EQ(catalog.NewestNewerThan("BOARD_Y", {0, 0, 0, 0})->version.major, 2);
}

TEST(Catalog, RefusesABrokenImageNamingTheFile) {
  TempDir dir;
  auto bytes = SignedImage({1, 0, 0, 0}, 5000);
  bytes[0x400 + 100] ^= 1;  // payload byte: the hash no longer matches
  WriteFileBytes(dir / "broken.bin", bytes);
  CatalogOptions options;
  options.default_board = "B";
  const std::string error = LoadError({dir / "broken.bin"}, options);
  EXPECT_NE(error.find("broken.bin: "), std::string::npos) << error;
  EXPECT_NE(error.find("invalid hash"), std::string::npos) << error;
  EXPECT_EQ(error.find('\n'), std::string::npos);
}

TEST(Catalog, RefusesGarbageAndTruncatedFiles) {
  TempDir dir;
  WriteText(dir / "text.bin", "hello, I am not an MCUboot image");
  auto good = SignedImage({1, 0, 0, 0}, 5000);
  good.resize(good.size() - 10);
  WriteFileBytes(dir / "short.bin", good);
  CatalogOptions options;
  options.default_board = "B";
  EXPECT_NE(LoadError({dir / "text.bin"}, options).find("text.bin: "), std::string::npos);
  EXPECT_NE(LoadError({dir / "short.bin"}, options).find("short.bin: "), std::string::npos);
}

TEST(Catalog, WithKeysRefusesUnsignedAndForeignImages) {
  TempDir dir;
  WriteFileBytes(dir / "unsigned.bin", SignedImage({1, 0, 0, 0}, 2000, nullptr));
  const host::Key other = host::Key::Generate(host::KeyType::kEcdsaP256);
  WriteFileBytes(dir / "foreign.bin", SignedImage({1, 0, 0, 0}, 2000, &other));
  CatalogOptions options = TrustingTestKey();
  options.default_board = "B";
  EXPECT_NE(LoadError({dir / "unsigned.bin"}, options).find("unsigned.bin: "), std::string::npos);
  EXPECT_NE(LoadError({dir / "foreign.bin"}, options).find("foreign.bin: "), std::string::npos);
  // Without keys the hash is enough: development images.
  options.trusted_keys.clear();
  EXPECT_EQ(LoadError({dir / "unsigned.bin"}, options), "(loaded)");
}

TEST(Catalog, KnowsTheHashOfTheKeyEachImageIsSignedWith) {
  const host::Key other = host::Key::Generate(host::KeyType::kEcdsaP256);
  CatalogOptions options = TrustingTestKey();
  Catalog catalog;
  catalog.Add("B", "a.bin", SignedImage({1, 0, 0, 0}, 2000), options);
  EXPECT_EQ(catalog.entries()[0]->key_hash, host::HexString(TestKey().PublicKeyHash()));
  // Without keys to check against: the key the image names.
  options.trusted_keys.clear();
  catalog.Add("B", "b.bin", SignedImage({1, 1, 0, 0}, 2000, &other), options);
  EXPECT_EQ(catalog.entries()[1]->key_hash, host::HexString(other.PublicKeyHash()));
  catalog.Add("B", "c.bin", SignedImage({1, 2, 0, 0}, 2000, nullptr), options);
  EXPECT_EQ(catalog.entries()[2]->key_hash, "");  // unsigned
}

TEST(Catalog, RefusesTwoImagesOfOneVersionForABoard) {
  TempDir dir;
  WriteFileBytes(dir / "a.bin", SignedImage({1, 0, 0, 0}, 2000));
  WriteFileBytes(dir / "b.bin", SignedImage({1, 0, 0, 5}, 2100));  // differs by build only
  CatalogOptions options;
  options.default_board = "B";
  const std::string error = LoadError({dir.path()}, options);
  EXPECT_NE(error.find("b.bin: version 1.0.0+5 for board B is already served by"),
            std::string::npos)
      << error;
}

TEST(Catalog, RefusesImagesWithoutABoardAndEmptyCatalogs) {
  TempDir dir;
  WriteFileBytes(dir / "a.bin", SignedImage({1, 0, 0, 0}, 2000));
  const std::string error = LoadError({dir / "a.bin"}, {});
  EXPECT_NE(error.find("a.bin: no board"), std::string::npos) << error;
  TempDir empty;
  EXPECT_NE(LoadError({empty.path()}, {}).find("no image"), std::string::npos);
  EXPECT_NE(LoadError({empty / "missing.bin"}, {}).find("no such file"), std::string::npos);
  WriteText(dir / "a.bin.board", "bad/board");
  EXPECT_NE(LoadError({dir / "a.bin"}, {}).find("not a valid board"), std::string::npos);
}

}  // namespace
}  // namespace mqota::server
