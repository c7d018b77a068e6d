// FileFlash: a flash chip kept in a file, for the virtual board and for tests
// that must survive the process.
//
// Every Write and Erase goes straight to the file with pwrite (no user-space
// buffer), so once a call returns its bytes are in the kernel: killing the
// process at any instant, SIGKILL included, loses nothing that was reported
// done. That is how the board models a power cut. Surviving a crash of the
// machine itself needs Sync().
//
// RAM semantics, like RamFlash: overwrites are allowed and bounds/alignment are
// FlashDevice's. Wrap it in a NorFlashModel for the write-once rule.
#pragma once

#include <cstdint>
#include <string>

#include "mqota/base/result.h"
#include "mqota/flash/flash_device.h"

namespace mqota::posix {

enum class FileFlashMode : uint8_t {
  kOpenExisting,     // the file must exist and have the geometry's size
  kCreateIfMissing,  // open as kOpenExisting, or create an erased chip if there is no file
  kCreateFresh,      // replace any existing file with an erased chip
};

enum class FileFlashErrc : uint8_t {
  kInvalidGeometry,  // the geometry fails FlashGeometry::IsValid
  kOpenFailed,       // open(2) failed (sys_errno says why: ENOENT, EACCES, ...)
  kNotAFile,         // the path exists but is not a regular file
  kWrongSize,        // the file exists, but its size is not the geometry's size
  kCreateFailed,     // writing the erased content of a new file failed
  kSyncFailed,       // fdatasync(2) failed
};

struct FileFlashError {
  FileFlashErrc code;
  int sys_errno = 0;                 // errno of the failing system call, 0 if none
  uint64_t actual_size_bytes = 0;    // kWrongSize: the file's size
  uint32_t expected_size_bytes = 0;  // kWrongSize: the geometry's size
};

const char* Describe(FileFlashErrc code);
// The sentence for `error` with its details, e.g. "flash file has the wrong
// size: 1000 bytes, the flash geometry needs 2048".
std::string ToString(const FileFlashError& error);

class FileFlash final : public flash::FlashDevice {
 public:
  // Opens (or creates, per `mode`) the chip in `path`. A created file is filled
  // with the erased value before Open returns; if that fails, the file is
  // removed. `geometry`'s sector array must outlive the device. The file
  // descriptor is close-on-exec (see fd()).
  // Errors: kInvalidGeometry, kOpenFailed, kNotAFile, kWrongSize, kCreateFailed.
  static Result<FileFlash, FileFlashError> Open(const char* path,
                                                const flash::FlashGeometry& geometry,
                                                FileFlashMode mode);

  FileFlash(FileFlash&& other) noexcept;
  FileFlash& operator=(FileFlash&& other) noexcept;
  ~FileFlash();

  // fdatasync(2): the content survives a machine crash too. Errors: kSyncFailed.
  [[nodiscard]] Result<void, FileFlashError> Sync();

  // The open descriptor (-1 after a move), for a supervisor that hands the chip
  // to a child process (it must clear FD_CLOEXEC on a dup of it).
  int fd() const { return fd_; }
  // errno of the last read, write or erase that failed with kIo (0 if it hit
  // end of file: someone truncated the file underneath).
  int last_errno() const { return last_errno_; }

 private:
  FileFlash(const flash::FlashGeometry& geometry, int fd);

  flash::FlashStatus DoRead(uint32_t offset, std::span<uint8_t> out) override;
  flash::FlashStatus DoWrite(uint32_t offset, std::span<const uint8_t> data) override;
  flash::FlashStatus DoErase(uint32_t offset, uint32_t size_bytes) override;
  flash::FlashError IoError(flash::FlashOp op, uint32_t offset, int sys_errno);

  int fd_ = -1;
  int last_errno_ = 0;
};

}  // namespace mqota::posix
