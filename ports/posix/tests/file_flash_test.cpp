#include "mqota/ports/posix/file_flash.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "mqota/flash/nor_flash_model.h"

namespace mqota::posix {
namespace {

using flash::FlashGeometry;
using flash::SectorRun;
using Bytes = std::vector<uint8_t>;

constexpr std::array<SectorRun, 2> kRuns{{{4, 256}, {2, 1024}}};  // 3 KiB, mixed sectors
FlashGeometry Geometry(uint8_t erased = 0xFF) { return FlashGeometry{kRuns, 4, erased}; }

class FileFlashTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = ::testing::TempDir() + "file_flash_XXXXXX";
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr) << std::strerror(errno);
    dir_ = pattern;
    path_ = dir_ + "/chip.bin";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  Bytes FileBytes() const {
    std::ifstream in(path_, std::ios::binary);
    return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  FileFlash MustOpen(FileFlashMode mode, uint8_t erased = 0xFF) {
    Result<FileFlash, FileFlashError> r =
        FileFlash::Open(path_.c_str(), geometry_[erased != 0], mode);
    if (!r.ok()) ADD_FAILURE() << ToString(r.error());
    return std::move(r).value();
  }

  std::string dir_;
  std::string path_;
  const FlashGeometry geometry_[2] = {Geometry(0x00), Geometry(0xFF)};
};

TEST_F(FileFlashTest, CreatesAnErasedChipWithEitherErasedValue) {
  for (uint8_t erased : {uint8_t{0xFF}, uint8_t{0x00}}) {
    { FileFlash chip = MustOpen(FileFlashMode::kCreateFresh, erased); }
    const Bytes bytes = FileBytes();
    ASSERT_EQ(bytes.size(), 3072u);
    for (uint8_t b : bytes) ASSERT_EQ(b, erased);
  }
}

TEST_F(FileFlashTest, DataPersistsAcrossReopen) {
  const Bytes data{1, 2, 3, 4, 5, 6, 7, 8};
  {
    FileFlash chip = MustOpen(FileFlashMode::kCreateIfMissing);
    ASSERT_TRUE(chip.Write(1020, data).ok());  // crosses from a 256 sector into a 1024 one
  }
  FileFlash chip = MustOpen(FileFlashMode::kOpenExisting);
  Bytes out(8);
  ASSERT_TRUE(chip.Read(1020, out).ok());
  EXPECT_EQ(out, data);
  EXPECT_EQ(FileBytes()[1019], 0xFF);
  EXPECT_EQ(FileBytes()[1028], 0xFF);
}

TEST_F(FileFlashTest, CreateIfMissingKeepsAnExistingChip) {
  const Bytes data{9, 9, 9, 9};
  { ASSERT_TRUE(MustOpen(FileFlashMode::kCreateFresh).Write(0, data).ok()); }
  FileFlash chip = MustOpen(FileFlashMode::kCreateIfMissing);
  Bytes out(4);
  ASSERT_TRUE(chip.Read(0, out).ok());
  EXPECT_EQ(out, data);
}

TEST_F(FileFlashTest, CreateFreshErasesAnExistingChip) {
  { ASSERT_TRUE(MustOpen(FileFlashMode::kCreateFresh).Write(0, Bytes{9, 9, 9, 9}).ok()); }
  { FileFlash chip = MustOpen(FileFlashMode::kCreateFresh); }
  EXPECT_EQ(FileBytes(), Bytes(3072, 0xFF));
}

TEST_F(FileFlashTest, RefusesAFileOfTheWrongSize) {
  { std::ofstream(path_, std::ios::binary) << std::string(3000, 'x'); }
  for (FileFlashMode mode : {FileFlashMode::kOpenExisting, FileFlashMode::kCreateIfMissing}) {
    Result<FileFlash, FileFlashError> r = FileFlash::Open(path_.c_str(), Geometry(), mode);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, FileFlashErrc::kWrongSize);
    EXPECT_EQ(r.error().actual_size_bytes, 3000u);
    EXPECT_EQ(r.error().expected_size_bytes, 3072u);
    const std::string text = ToString(r.error());
    EXPECT_NE(text.find("wrong size"), std::string::npos) << text;
    EXPECT_NE(text.find("3000"), std::string::npos) << text;
    EXPECT_NE(text.find("3072"), std::string::npos) << text;
  }
  EXPECT_EQ(FileBytes().size(), 3000u);  // and left alone
}

TEST_F(FileFlashTest, OpenExistingReportsAMissingFileWithErrno) {
  Result<FileFlash, FileFlashError> r =
      FileFlash::Open(path_.c_str(), Geometry(), FileFlashMode::kOpenExisting);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, FileFlashErrc::kOpenFailed);
  EXPECT_EQ(r.error().sys_errno, ENOENT);
  EXPECT_FALSE(std::filesystem::exists(path_));
}

TEST_F(FileFlashTest, RefusesADirectoryAndAnInvalidGeometry) {
  Result<FileFlash, FileFlashError> dir =
      FileFlash::Open(dir_.c_str(), Geometry(), FileFlashMode::kOpenExisting);
  ASSERT_FALSE(dir.ok());
  EXPECT_EQ(dir.error().code, FileFlashErrc::kOpenFailed);  // open(2) says EISDIR
  EXPECT_EQ(dir.error().sys_errno, EISDIR);
  const FlashGeometry bad{kRuns, 3, 0xFF};
  Result<FileFlash, FileFlashError> r =
      FileFlash::Open(path_.c_str(), bad, FileFlashMode::kCreateFresh);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, FileFlashErrc::kInvalidGeometry);
  EXPECT_FALSE(std::filesystem::exists(path_));
}

TEST_F(FileFlashTest, EraseWritesTheErasedValue) {
  FileFlash chip = MustOpen(FileFlashMode::kCreateFresh, 0x00);
  ASSERT_TRUE(chip.Write(1024, Bytes(1024, 0x77)).ok());
  ASSERT_TRUE(chip.Write(1020, Bytes(4, 0x66)).ok());
  ASSERT_TRUE(chip.Erase(1024, 1024).ok());
  const Bytes bytes = FileBytes();
  EXPECT_EQ(bytes[1023], 0x66);
  for (uint32_t i = 1024; i < 2048; ++i) ASSERT_EQ(bytes[i], 0x00) << i;
}

TEST_F(FileFlashTest, MoveHandsOverTheFileAndDestructionClosesIt) {
  FileFlash a = MustOpen(FileFlashMode::kCreateFresh);
  const int fd = a.fd();
  FileFlash b = std::move(a);
  EXPECT_EQ(a.fd(), -1);  // NOLINT(bugprone-use-after-move)
  EXPECT_EQ(b.fd(), fd);
  ASSERT_TRUE(b.Write(0, Bytes{1, 2, 3, 4}).ok());
  FileFlash c = MustOpen(FileFlashMode::kOpenExisting);
  const int c_fd = c.fd();
  c = std::move(b);  // closes c's own descriptor
  EXPECT_EQ(::fcntl(c_fd, F_GETFD), -1);
  EXPECT_EQ(c.fd(), fd);
  { FileFlash gone = std::move(c); }
  EXPECT_EQ(::fcntl(fd, F_GETFD), -1);
  EXPECT_EQ(errno, EBADF);
}

TEST_F(FileFlashTest, SyncSucceeds) {
  FileFlash chip = MustOpen(FileFlashMode::kCreateFresh);
  EXPECT_TRUE(chip.Sync().ok());
}

// The board's power cut is a SIGKILL: every write that returned before it must
// be in the file, with nothing after it.
TEST_F(FileFlashTest, WritesSurviveSigkill) {
  { FileFlash chip = MustOpen(FileFlashMode::kCreateFresh); }
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(ready[0]);
    Result<FileFlash, FileFlashError> chip =
        FileFlash::Open(path_.c_str(), Geometry(), FileFlashMode::kOpenExisting);
    if (!chip.ok()) ::_exit(2);
    for (uint32_t i = 0; i < 16; ++i) {
      const Bytes unit(4, static_cast<uint8_t>(0x10 + i));
      if (!chip->Write(256 + 4 * i, unit).ok()) ::_exit(3);
    }
    const char done = 'k';
    if (::write(ready[1], &done, 1) != 1) ::_exit(4);
    for (;;) ::pause();  // the parent pulls the plug
  }
  ::close(ready[1]);
  char done = 0;
  ASSERT_EQ(::read(ready[0], &done, 1), 1) << "the child failed before writing";
  ::close(ready[0]);
  ASSERT_EQ(::kill(child, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status));
  EXPECT_EQ(WTERMSIG(status), SIGKILL);

  FileFlash chip = MustOpen(FileFlashMode::kOpenExisting);
  Bytes all(3072);
  ASSERT_TRUE(chip.Read(0, all).ok());
  for (uint32_t i = 0; i < 3072; ++i) {
    const bool written = i >= 256 && i < 256 + 64;
    const uint8_t expected = written ? static_cast<uint8_t>(0x10 + (i - 256) / 4) : 0xFF;
    ASSERT_EQ(all[i], expected) << "byte " << i;
  }
}

// A NOR model over a file: the write-once rule holds, a cut leaves the file as
// it was, and a "reset" (a new model over the reopened file) sees the bytes.
TEST_F(FileFlashTest, RunsUnderTheNorModelAcrossAReset) {
  const FlashGeometry geometry = Geometry();
  std::vector<uint8_t> bitmap(flash::NorFlashModel::BitmapBytes(geometry));
  {
    FileFlash chip = MustOpen(FileFlashMode::kCreateFresh);
    flash::NorFlashModel nor(chip, bitmap);
    ASSERT_TRUE(nor.Write(0, Bytes{1, 2, 3, 4}).ok());
    EXPECT_EQ(nor.Write(0, Bytes{1, 2, 3, 4}).error().code, flash::FlashErrc::kNotErased);
    nor.CutPowerAfter(0);
    EXPECT_EQ(nor.Write(4, Bytes{5, 6, 7, 8}).error().code, flash::FlashErrc::kPowerLost);
  }
  FileFlash chip = MustOpen(FileFlashMode::kOpenExisting);
  flash::NorFlashModel nor(chip, bitmap);
  EXPECT_TRUE(nor.IsProgrammed(3));
  EXPECT_FALSE(nor.IsProgrammed(4));
  EXPECT_TRUE(nor.Write(4, Bytes{5, 6, 7, 8}).ok());
  EXPECT_EQ(FileBytes()[7], 8);
}

}  // namespace
}  // namespace mqota::posix
