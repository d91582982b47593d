// File reads and writes for the client; see file_io.h.
#include "client/file_io.h"

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

absl::StatusOr<std::string> ReadFileBytes(const std::string& path, int64_t max_bytes) {
  const std::string what = absl::StrCat("cannot read ", path);
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": it is a folder"));
  }
  FilePtr file(std::fopen(path.c_str(), "rb"));
  if (file == nullptr) return ErrnoError(errno, what);
  if (std::fseek(file.get(), 0, SEEK_END) != 0) return ErrnoError(errno, what);
  const long size = std::ftell(file.get());
  if (size < 0) return ErrnoError(errno, what);
  if (size > max_bytes) {
    return absl::ResourceExhaustedError(
        absl::StrCat(path, " is ", size, " bytes, over the ", max_bytes,
                     "-byte message limit (raise the client's --max-message-mb and the server's "
                     "--max_message_mb)"));
  }
  std::rewind(file.get());
  std::string bytes(static_cast<size_t>(size), '\0');
  if (size > 0 && std::fread(bytes.data(), 1, bytes.size(), file.get()) != bytes.size()) {
    return ErrnoError(std::ferror(file.get()) ? errno : EIO, what);
  }
  return bytes;
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
