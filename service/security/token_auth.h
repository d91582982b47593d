// Bearer tokens from a file (--auth_tokens): one `name:token` per line, `#` comments
// and blank lines allowed. The file is re-read when it changes, so a caller is added
// or revoked without a restart; a file that no longer parses keeps the tokens
// loaded before (and says so on stderr). Tokens are kept only as SHA-256 digests and
// compared in constant time against every entry.
#ifndef EXPLAINER_SERVICE_SECURITY_TOKEN_AUTH_H_
#define EXPLAINER_SERVICE_SECURITY_TOKEN_AUTH_H_

#include <array>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace explainer::security {

using Digest = std::array<unsigned char, 32>;

Digest Sha256(absl::string_view bytes);
std::string HexDigest(const Digest& digest);
// Hex SHA-256 of a file's bytes, as sha256sum prints it (read in 1 MiB pieces).
// NotFound naming the path when it cannot be read.
absl::StatusOr<std::string> FileSha256(const std::string& path);

struct TokenEntry {
  std::string name;
  Digest digest;
};

// The entries of a token file's text; errors name the line ("line 3: expected
// name:token"), never the token.
absl::StatusOr<std::vector<TokenEntry>> ParseTokenFile(absl::string_view text);

struct TokenCheck {
  bool ok = false;
  std::string caller;  // the token's name when ok
  std::string reason;  // when not ok: "no bearer token" or "unknown token"
};

class TokenAuth {
 public:
  // Reads and parses `path`; errors name the flag, file and line.
  static absl::StatusOr<std::unique_ptr<TokenAuth>> Load(
      const std::string& path, absl::Duration reload_check_interval = absl::Seconds(1));

  // `authorization` is the value of the call's `authorization` metadata (empty when
  // absent): "Bearer <token>". Checks the file for changes first (at most once per
  // reload_check_interval). Thread-safe.
  TokenCheck Check(absl::string_view authorization);

  int size() const;
  const std::string& path() const { return path_; }

 private:
  struct FileId {
    long long inode = 0, size = 0, mtime_ns = 0;
    bool operator==(const FileId& o) const {
      return inode == o.inode && size == o.size && mtime_ns == o.mtime_ns;
    }
  };
  TokenAuth(std::string path, absl::Duration interval) : path_(std::move(path)), interval_(interval) {}
  void MaybeReload();

  const std::string path_;
  const absl::Duration interval_;
  mutable absl::Mutex mu_;
  std::shared_ptr<const std::vector<TokenEntry>> entries_ ABSL_GUARDED_BY(mu_);
  FileId loaded_ ABSL_GUARDED_BY(mu_);
  absl::Time last_check_ ABSL_GUARDED_BY(mu_);
};

}  // namespace explainer::security

#endif  // EXPLAINER_SERVICE_SECURITY_TOKEN_AUTH_H_
