// The audit log (--audit_log FILE, or "-" for stderr): one JSON line per answered
// item and per refused call. What a line holds is fixed here, and it holds nothing
// that can identify a patient: no file names, request ids, annotation content, pixel
// data or error messages (they can echo any of those), and never a token; the image
// is identified by the SHA-256 of its bytes.
//
// Each line is written with one write(2) on an O_APPEND descriptor, so lines from
// concurrent calls never interleave and a line written is in the kernel even if the
// process crashes next. Rotation: rename the file away; the log notices (it compares
// the path's inode with its own, at most once a second) or Reopen() is called
// (SIGHUP), and opens a new file at the path.
#ifndef EXPLAINER_SERVICE_SECURITY_AUDIT_LOG_H_
#define EXPLAINER_SERVICE_SECURITY_AUDIT_LOG_H_

#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace explainer::security {

struct AuditRecord {
  absl::Time time;
  std::string event;   // "item" (an answered item) or "refused" (a refused call)
  std::string caller;  // mTLS subject / SAN, and/or the token's name; "" if anonymous
  std::string peer;    // "ipv4:127.0.0.1:53412"
  std::string rpc;     // "Explain", "ExplainImage", "GetModelInfo"
  std::string code;    // "OK", "INVALID_ARGUMENT", "UNAUTHENTICATED", ...
  std::string reason;  // refusals only: a fixed phrase ("unknown token", a limit name)
  std::string model_name, model_version, bundle_sha256;
  absl::Duration latency;    // from receiving the item (or call) to the answer
  std::string image_sha256;  // items: hex SHA-256 of the image bytes
};

// The JSON line (without the newline).
std::string FormatAuditRecord(const AuditRecord& record);

class AuditLog {
 public:
  // "-": stderr. Otherwise the file is created (0600) or appended to; an error names
  // the flag, the path and the reason.
  static absl::StatusOr<std::unique_ptr<AuditLog>> Open(const std::string& path);
  ~AuditLog();

  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  void Write(const AuditRecord& record);
  // Opens the path again (after rotation). Thread-safe.
  void Reopen();

  const std::string& path() const { return path_; }

 private:
  AuditLog(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  void ReopenLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void CheckRotatedLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::string path_;
  absl::Mutex mu_;
  int fd_ ABSL_GUARDED_BY(mu_);
  absl::Time last_rotation_check_ ABSL_GUARDED_BY(mu_);
};

}  // namespace explainer::security

#endif  // EXPLAINER_SERVICE_SECURITY_AUDIT_LOG_H_
