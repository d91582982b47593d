// File reads and writes for the client; see file_io.h.
#include "client/file_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <system_error>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace explainer::client {
namespace {

struct FileCloser {
  void operator()(std::FILE* file) const { std::fclose(file); }
};
using FilePtr = std::unique_ptr<std::FILE, FileCloser>;

struct FdCloser {
  int fd;
  ~FdCloser() { ::close(fd); }
};

absl::Status ErrnoError(int error, const std::string& what) {
  const std::string message = absl::StrCat(what, ": ", std::strerror(error));
  switch (error) {
    case ENOENT:
      return absl::NotFoundError(message);
    case EACCES:
    case EPERM:
      return absl::PermissionDeniedError(message);
    default:
      return absl::InvalidArgumentError(message);
  }
}

}  // namespace

std::string FileKind(mode_t mode) {
  if (S_ISDIR(mode)) return "a folder";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  return "not a file";
}

absl::StatusOr<std::string> ReadFileBytes(const std::string& path, int64_t max_bytes) {
  const std::string what = absl::StrCat("cannot read ", path);
  // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer,
  // forever; fstat on the open descriptor then refuses anything but a regular file
  // (no window between the check and the read).
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) return ErrnoError(errno, what);
  FdCloser closer{fd};
  struct stat info;
  if (::fstat(fd, &info) != 0) return ErrnoError(errno, what);
  if (!S_ISREG(info.st_mode)) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": it is ", FileKind(info.st_mode), ", not a regular file"));
  }
  const int64_t size = info.st_size;
  if (size > max_bytes) {
    return absl::ResourceExhaustedError(
        absl::StrCat(path, " is ", size, " bytes, over the ", max_bytes,
                     "-byte message limit (raise the client's --max-message-mb and the server's "
                     "--max_message_mb)"));
  }
  std::string bytes(static_cast<size_t>(size), '\0');
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::read(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoError(errno, what);
    if (n == 0) break;  // the file shrank while being read
    done += static_cast<size_t>(n);
  }
  bytes.resize(done);
  return bytes;
}

absl::Status CreateOutputFolder(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec || !std::filesystem::is_directory(dir)) {
    return absl::FailedPreconditionError(
        absl::StrCat("--out: cannot create the folder ", dir, ": ",
                     ec ? ec.message() : "a file of that name exists"));
  }
  return absl::OkStatus();
}

absl::Status WriteFileBytes(const std::string& path, absl::string_view bytes) {
  const std::string what = absl::StrCat("cannot write ", path);
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  std::error_code ec;
  if (!parent.empty()) {
    std::filesystem::create_directories(parent, ec);
    if (ec) return absl::PermissionDeniedError(absl::StrCat(what, ": ", ec.message()));
  }
  FilePtr file(std::fopen(path.c_str(), "wb"));
  if (file == nullptr) return ErrnoError(errno, what);
  if (!bytes.empty() && std::fwrite(bytes.data(), 1, bytes.size(), file.get()) != bytes.size()) {
    return ErrnoError(errno, what);
  }
  if (std::fclose(file.release()) != 0) return ErrnoError(errno, what);
  return absl::OkStatus();
}

}  // namespace explainer::client
