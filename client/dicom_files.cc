// DICOM inputs found by content; see dicom_files.h.
#include "client/dicom_files.h"

#include <sys/stat.h>

#include <cstdint>
#include <fstream>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "client/file_io.h"
#include "common/dicom_decode.h"

namespace explainer::client {

bool IsDicomFile(const std::string& path) {
  struct stat info;
  if (::stat(path.c_str(), &info) != 0 || !S_ISREG(info.st_mode) || info.st_size < 132) {
    return false;
  }
  std::ifstream in(path, std::ios::binary);
  std::string head(132, '\0');
  if (!in.read(head.data(), static_cast<std::streamsize>(head.size()))) return false;
  return common::LooksLikeDicom(head);
}

absl::StatusOr<std::string> ReadSopInstanceUid(const std::string& path, int64_t max_bytes) {
  absl::StatusOr<std::string> bytes = ReadFileBytes(path, max_bytes);
  if (!bytes.ok()) return bytes.status();
  absl::StatusOr<common::DicomHeader> header = common::ReadDicomHeader(*bytes);
  if (!header.ok()) return header.status();
  if (header->sop_instance_uid.empty()) {
    return absl::NotFoundError(absl::StrCat(path, " has no SOP Instance UID (0008,0018)"));
  }
  return header->sop_instance_uid;
}

}  // namespace explainer::client
