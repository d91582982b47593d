// Whole-file reads and writes with errors that name the file and the reason.
#ifndef EXPLAINER_CLIENT_FILE_IO_H_
#define EXPLAINER_CLIENT_FILE_IO_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace explainer::client {

// The bytes of `path`. NotFound / PermissionDenied / InvalidArgument (a folder)
// with "cannot read PATH: reason"; ResourceExhausted when larger than max_bytes
// (checked before reading).
absl::StatusOr<std::string> ReadFileBytes(const std::string& path, int64_t max_bytes);

// Writes `bytes` to `path`, creating missing parent folders.
absl::Status WriteFileBytes(const std::string& path, absl::string_view bytes);

}  // namespace explainer::client

#endif  // EXPLAINER_CLIENT_FILE_IO_H_
