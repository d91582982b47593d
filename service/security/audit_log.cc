// The audit log's line format and file handling; see audit_log.h.
#include "service/security/audit_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "nlohmann/json.hpp"

namespace explainer::security {
namespace {

constexpr int kStderr = 2;

int OpenForAppend(const std::string& path) {
  return ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
}

}  // namespace

std::string FormatAuditRecord(const AuditRecord& record) {
  nlohmann::ordered_json line;
  line["time"] = absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", record.time, absl::UTCTimeZone());
  line["event"] = record.event;
  line["caller"] = record.caller;
  line["peer"] = record.peer;
  line["rpc"] = record.rpc;
  line["code"] = record.code;
  if (!record.reason.empty()) line["reason"] = record.reason;
  line["model"] = record.model_name;
  line["model_version"] = record.model_version;
  if (!record.bundle_sha256.empty()) line["bundle_sha256"] = record.bundle_sha256;
  line["latency_ms"] = absl::ToDoubleMilliseconds(record.latency);
  if (!record.image_sha256.empty()) line["image_sha256"] = record.image_sha256;
  // Peer and names come from the network: replace, never throw, on bad UTF-8.
  return line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

absl::StatusOr<std::unique_ptr<AuditLog>> AuditLog::Open(const std::string& path) {
  if (path == "-") return std::unique_ptr<AuditLog>(new AuditLog(path, kStderr));
  const int fd = OpenForAppend(path);
  if (fd < 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("--audit_log ", path, ": cannot open for appending: ", std::strerror(errno)));
  }
  std::unique_ptr<AuditLog> log(new AuditLog(path, fd));
  absl::MutexLock lock(&log->mu_);
  log->last_rotation_check_ = absl::Now();
  return log;
}

AuditLog::~AuditLog() {
  absl::MutexLock lock(&mu_);
  if (fd_ > kStderr) ::close(fd_);
}

void AuditLog::ReopenLocked() {
  if (path_ == "-") return;
  const int fd = OpenForAppend(path_);
  if (fd < 0) {
    std::cerr << "explainer-server: --audit_log " << path_
              << ": cannot reopen, still writing to the old file: " << std::strerror(errno)
              << std::endl;
    return;
  }
  if (fd_ > kStderr) ::close(fd_);
  fd_ = fd;
}

void AuditLog::Reopen() {
  absl::MutexLock lock(&mu_);
  ReopenLocked();
}

void AuditLog::CheckRotatedLocked() {
  if (path_ == "-") return;
  const absl::Time now = absl::Now();
  if (now - last_rotation_check_ < absl::Seconds(1)) return;
  last_rotation_check_ = now;
  struct stat at_path {}, open_file {};
  const bool gone = ::stat(path_.c_str(), &at_path) != 0;
  if (::fstat(fd_, &open_file) != 0) return;
  if (gone || at_path.st_ino != open_file.st_ino || at_path.st_dev != open_file.st_dev) {
    ReopenLocked();
  }
}

void AuditLog::Write(const AuditRecord& record) {
  const std::string line = FormatAuditRecord(record) + "\n";
  absl::MutexLock lock(&mu_);
  CheckRotatedLocked();
  size_t written = 0;
  while (written < line.size()) {
    const ssize_t n = ::write(fd_, line.data() + written, line.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      std::cerr << "explainer-server: --audit_log " << path_
                << ": write failed: " << std::strerror(errno) << std::endl;
      return;
    }
    written += static_cast<size_t>(n);
  }
}

}  // namespace explainer::security
