// DICOM inputs found by content; see dicom_files.h.
#include "client/dicom_files.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "client/file_io.h"
#include "common/dicom_decode.h"
#include "common/sha256.h"

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

std::string ItemNameForLog(const std::string& file, const std::string& sop_instance_uid) {
  if (!sop_instance_uid.empty()) {
    return "dicom-" + common::Sha256Hex(sop_instance_uid).substr(0, 16);
  }
  // A UID as the name, with or without an extension: 1.2.840.113619.2.55.3(.dcm).
  const size_t slash = file.find_last_of('/');
  std::string stem = slash == std::string::npos ? file : file.substr(slash + 1);
  const size_t dot = stem.rfind('.');
  if (dot != std::string::npos && dot + 1 < stem.size() &&
      std::all_of(stem.begin() + dot + 1, stem.end(), absl::ascii_isalpha)) {
    stem.resize(dot);
  }
  const bool uid_like =
      std::count(stem.begin(), stem.end(), '.') >= 3 &&
      std::all_of(stem.begin(), stem.end(), [](char c) { return absl::ascii_isdigit(c) || c == '.'; });
  if (uid_like) return "dicom-" + common::Sha256Hex(file).substr(0, 16);
  return file;
}

}  // namespace explainer::client
