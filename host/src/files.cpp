#include "mqota/host/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "mqota/host/command_error.h"

namespace mqota::host {
namespace {

std::string Reason(int error) { return std::strerror(error); }

// Closes the descriptor and removes the temporary file unless committed.
class TempFile {
 public:
  explicit TempFile(const std::string& target) : path_(target + ".tmp-XXXXXX") {
    fd_ = mkstemp(path_.data());
    if (fd_ < 0) throw UsageError(target + ": cannot create a file here: " + Reason(errno));
  }
  ~TempFile() {
    if (fd_ >= 0) close(fd_);
    if (!committed_) unlink(path_.c_str());
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;

  int fd() const { return fd_; }
  const std::string& path() const { return path_; }
  void Commit() { committed_ = true; }

 private:
  std::string path_;
  int fd_ = -1;
  bool committed_ = false;
};

}  // namespace

std::vector<uint8_t> ReadFile(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw UsageError(path + ": " + Reason(errno));
  struct stat st {};
  if (fstat(fd, &st) != 0 || S_ISDIR(st.st_mode)) {
    const int error = S_ISDIR(st.st_mode) ? EISDIR : errno;
    close(fd);
    throw UsageError(path + ": " + Reason(error));
  }
  std::vector<uint8_t> bytes;
  uint8_t buffer[64 * 1024];
  while (true) {
    const ssize_t n = read(fd, buffer, sizeof buffer);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      const int error = errno;
      close(fd);
      throw UsageError(path + ": " + Reason(error));
    }
    bytes.insert(bytes.end(), buffer, buffer + n);
  }
  close(fd);
  return bytes;
}

void WriteFileAtomically(const std::string& path, std::span<const uint8_t> bytes, unsigned mode) {
  TempFile temp(path);
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = write(temp.fd(), bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw UsageError(path + ": " + Reason(errno));
    done += static_cast<size_t>(n);
  }
  if (fchmod(temp.fd(), mode) != 0 || fsync(temp.fd()) != 0) {
    throw UsageError(path + ": " + Reason(errno));
  }
  if (rename(temp.path().c_str(), path.c_str()) != 0) {
    throw UsageError(path + ": " + Reason(errno));
  }
  temp.Commit();
}

void WriteFileAtomically(const std::string& path, const std::string& text, unsigned mode) {
  WriteFileAtomically(path, std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()),
                      mode);
}

}  // namespace mqota::host
