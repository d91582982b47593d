// Whole-file reads and writes with errors that name the file and the reason.
#ifndef EXPLAINER_CLIENT_FILE_IO_H_
#define EXPLAINER_CLIENT_FILE_IO_H_

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace explainer::client {

// The bytes of `path`. NotFound / PermissionDenied with "cannot read PATH: reason";
// InvalidArgument "cannot read PATH: it is a FIFO, not a regular file" for anything
// but a regular file (never blocks on a FIFO or device); ResourceExhausted when
// larger than max_bytes (checked before reading).
absl::StatusOr<std::string> ReadFileBytes(const std::string& path, int64_t max_bytes);

// What a file that is not a regular one is, for messages: "a folder", "a FIFO",
// "a socket", "a character device", "a block device".
std::string FileKind(mode_t mode);

// Creates the output folder `dir` (--out) and its parents. FailedPrecondition
// "--out: cannot create the folder DIR: reason" when it cannot.
absl::Status CreateOutputFolder(const std::string& dir);

// Writes `bytes` to `path`, creating missing parent folders.
absl::Status WriteFileBytes(const std::string& path, absl::string_view bytes);

}  // namespace explainer::client

#endif  // EXPLAINER_CLIENT_FILE_IO_H_
