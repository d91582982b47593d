// DICOM inputs of the client: found by content (the "DICM" preamble), whatever the
// file is called, and the SOP Instance UID that results.jsonl records for them.
#ifndef EXPLAINER_CLIENT_DICOM_FILES_H_
#define EXPLAINER_CLIENT_DICOM_FILES_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"

namespace explainer::client {

// True when `path` is a regular file (links followed) whose bytes 128..131 are
// "DICM". Reads at most 132 bytes; never opens anything but a regular file, so a
// FIFO cannot block the walk.
bool IsDicomFile(const std::string& path);

// The SOP Instance UID (0008,0018) of the DICOM file at `path` (read up to
// max_bytes), parsed by common::ReadDicomHeader. NotFound when the file has none.
absl::StatusOr<std::string> ReadSopInstanceUid(const std::string& path, int64_t max_bytes);

// How console output names an item. A DICOM input (sop_instance_uid set) or a file
// named like a UID (PACS exports name files by their UID) is "dicom-" + the first 16
// hex digits of the SHA-256 of its SOP Instance UID (else of its name): nothing of a
// DICOM header reaches a log. Match it with `printf %s UID | sha256sum`. Other files
// keep their name.
std::string ItemNameForLog(const std::string& file, const std::string& sop_instance_uid);

}  // namespace explainer::client

#endif  // EXPLAINER_CLIENT_DICOM_FILES_H_
