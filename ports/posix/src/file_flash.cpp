#include "mqota/ports/posix/file_flash.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <utility>

namespace mqota::posix {
namespace {

using flash::FlashErrc;
using flash::FlashError;
using flash::FlashOp;
using flash::FlashStatus;

constexpr size_t kFillChunkBytes = 4096;

// pread/pwrite may move fewer bytes than asked, or be interrupted by a signal;
// both just mean "go on". 0 from pread means end of file.
bool WriteAll(int fd, const uint8_t* data, size_t size, uint64_t offset, int* sys_errno) {
  while (size > 0) {
    const ssize_t n = ::pwrite(fd, data, size, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      *sys_errno = n < 0 ? errno : EIO;
      return false;
    }
    data += n;
    size -= static_cast<size_t>(n);
    offset += static_cast<uint64_t>(n);
  }
  return true;
}

bool ReadAll(int fd, uint8_t* out, size_t size, uint64_t offset, int* sys_errno) {
  while (size > 0) {
    const ssize_t n = ::pread(fd, out, size, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      *sys_errno = n < 0 ? errno : 0;
      return false;
    }
    out += n;
    size -= static_cast<size_t>(n);
    offset += static_cast<uint64_t>(n);
  }
  return true;
}

// Writes the erased value over [offset, offset + size_bytes). Front to back, so
// a new file that is cut short while being filled has the wrong size and is
// refused on the next Open, instead of passing for a chip full of data.
bool FillErased(int fd, uint64_t offset, uint64_t size_bytes, uint8_t erased, int* sys_errno) {
  std::array<uint8_t, kFillChunkBytes> chunk{};
  chunk.fill(erased);
  while (size_bytes > 0) {
    const size_t n = size_bytes < chunk.size() ? static_cast<size_t>(size_bytes) : chunk.size();
    if (!WriteAll(fd, chunk.data(), n, offset, sys_errno)) return false;
    offset += n;
    size_bytes -= n;
  }
  return true;
}

int OpenFor(const char* path, FileFlashMode mode, bool* created) {
  constexpr int kFlags = O_RDWR | O_CLOEXEC;
  constexpr mode_t kPermissions = 0644;
  *created = false;
  switch (mode) {
    case FileFlashMode::kOpenExisting: return ::open(path, kFlags);
    case FileFlashMode::kCreateFresh:
      *created = true;
      return ::open(path, kFlags | O_CREAT | O_TRUNC, kPermissions);
    case FileFlashMode::kCreateIfMissing: {
      // O_EXCL decides "missing" atomically: two processes racing here cannot
      // both fill the same file.
      const int fd = ::open(path, kFlags | O_CREAT | O_EXCL, kPermissions);
      if (fd >= 0 || errno != EEXIST) {
        *created = fd >= 0;
        return fd;
      }
      return ::open(path, kFlags);
    }
  }
  errno = EINVAL;
  return -1;
}

}  // namespace

const char* Describe(FileFlashErrc code) {
  switch (code) {
    case FileFlashErrc::kInvalidGeometry: return "the flash geometry is invalid";
    case FileFlashErrc::kOpenFailed: return "cannot open the flash file";
    case FileFlashErrc::kNotAFile: return "the flash path is not a regular file";
    case FileFlashErrc::kWrongSize:
      return "the flash file has the wrong size for the flash geometry";
    case FileFlashErrc::kCreateFailed: return "cannot write the erased content of a new flash file";
    case FileFlashErrc::kSyncFailed: return "cannot sync the flash file to storage";
  }
  return "unknown flash file error";
}

std::string ToString(const FileFlashError& error) {
  std::string text = Describe(error.code);
  if (error.code == FileFlashErrc::kWrongSize) {
    text += ": the file is " + std::to_string(error.actual_size_bytes) +
            " bytes, the geometry needs " + std::to_string(error.expected_size_bytes);
  }
  if (error.sys_errno != 0) {
    text += ": ";
    text += std::strerror(error.sys_errno);
  }
  return text;
}

Result<FileFlash, FileFlashError> FileFlash::Open(const char* path,
                                                  const flash::FlashGeometry& geometry,
                                                  FileFlashMode mode) {
  if (!geometry.IsValid()) return FileFlashError{FileFlashErrc::kInvalidGeometry};
  bool created = false;
  const int fd = OpenFor(path, mode, &created);
  if (fd < 0) return FileFlashError{FileFlashErrc::kOpenFailed, errno};

  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int sys_errno = errno;
    ::close(fd);
    return FileFlashError{FileFlashErrc::kOpenFailed, sys_errno};
  }
  // Checked before filling: kCreateFresh on a device node must not write it.
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return FileFlashError{FileFlashErrc::kNotAFile};
  }
  const uint32_t size_bytes = geometry.size_bytes();
  if (created) {
    int sys_errno = 0;
    if (!FillErased(fd, 0, size_bytes, geometry.erased_value, &sys_errno)) {
      ::close(fd);
      ::unlink(path);
      return FileFlashError{FileFlashErrc::kCreateFailed, sys_errno};
    }
  } else if (static_cast<uint64_t>(st.st_size) != size_bytes) {
    ::close(fd);
    return FileFlashError{FileFlashErrc::kWrongSize, 0, static_cast<uint64_t>(st.st_size),
                          size_bytes};
  }
  return FileFlash(geometry, fd);
}

FileFlash::FileFlash(const flash::FlashGeometry& geometry, int fd)
    : FlashDevice(geometry), fd_(fd) {}

FileFlash::FileFlash(FileFlash&& other) noexcept
    : FlashDevice(std::move(other)),
      fd_(std::exchange(other.fd_, -1)),
      last_errno_(other.last_errno_) {}

FileFlash& FileFlash::operator=(FileFlash&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    // Take this class's members before the base's move, which only moves the
    // FlashDevice part of `other`.
    fd_ = std::exchange(other.fd_, -1);
    last_errno_ = other.last_errno_;
    FlashDevice::operator=(std::move(other));
  }
  return *this;
}

FileFlash::~FileFlash() {
  if (fd_ >= 0) ::close(fd_);
}

Result<void, FileFlashError> FileFlash::Sync() {
  if (::fdatasync(fd_) != 0) return FileFlashError{FileFlashErrc::kSyncFailed, errno};
  return {};
}

FlashStatus FileFlash::DoRead(uint32_t offset, std::span<uint8_t> out) {
  int sys_errno = 0;
  if (!ReadAll(fd_, out.data(), out.size(), offset, &sys_errno)) {
    return IoError(FlashOp::kRead, offset, sys_errno);
  }
  return {};
}

FlashStatus FileFlash::DoWrite(uint32_t offset, std::span<const uint8_t> data) {
  int sys_errno = 0;
  if (!WriteAll(fd_, data.data(), data.size(), offset, &sys_errno)) {
    return IoError(FlashOp::kWrite, offset, sys_errno);
  }
  return {};
}

FlashStatus FileFlash::DoErase(uint32_t offset, uint32_t size_bytes) {
  int sys_errno = 0;
  if (!FillErased(fd_, offset, size_bytes, geometry().erased_value, &sys_errno)) {
    return IoError(FlashOp::kErase, offset, sys_errno);
  }
  return {};
}

FlashError FileFlash::IoError(FlashOp op, uint32_t offset, int sys_errno) {
  last_errno_ = sys_errno;
  return FlashError{FlashErrc::kIo, op, offset};
}

}  // namespace mqota::posix
