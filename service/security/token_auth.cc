// Token file parsing, reload and constant-time check; see token_auth.h.
#include "service/security/token_auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/status_macros.h"

namespace explainer::security {
namespace {

absl::StatusOr<std::string> ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::FailedPreconditionError(absl::StrCat("--auth_tokens ", path,
                                                      ": cannot read: ", std::strerror(errno)));
  }
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

Digest Sha256(absl::string_view bytes) {
  Digest digest;
  SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), digest.data());
  return digest;
}

std::string HexDigest(const Digest& digest) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(64);
  for (unsigned char byte : digest) {
    hex.push_back(kHex[byte >> 4]);
    hex.push_back(kHex[byte & 15]);
  }
  return hex;
}

absl::StatusOr<std::string> FileSha256(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr);
  std::vector<char> buffer(1 << 20);
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    EVP_DigestUpdate(ctx.get(), buffer.data(), static_cast<size_t>(in.gcount()));
  }
  if (in.bad()) return absl::DataLossError(absl::StrCat("cannot read ", path));
  Digest digest;
  unsigned int size = 0;
  EVP_DigestFinal_ex(ctx.get(), digest.data(), &size);
  return HexDigest(digest);
}

absl::StatusOr<std::vector<TokenEntry>> ParseTokenFile(absl::string_view text) {
  std::vector<TokenEntry> entries;
  absl::flat_hash_set<std::string> names;
  absl::flat_hash_set<std::string> digests;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line[0] == '#') continue;
    const size_t colon = line.find(':');
    if (colon == absl::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("line ", line_number, ": expected name:token"));
    }
    const absl::string_view name = absl::StripAsciiWhitespace(line.substr(0, colon));
    const absl::string_view token = absl::StripAsciiWhitespace(line.substr(colon + 1));
    if (name.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("line ", line_number, ": empty name"));
    }
    if (token.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("line ", line_number, ": empty token for \"", name, "\""));
    }
    for (char c : token) {
      if (absl::ascii_isspace(static_cast<unsigned char>(c)) ||
          !absl::ascii_isprint(static_cast<unsigned char>(c))) {
        return absl::InvalidArgumentError(absl::StrCat(
            "line ", line_number, ": the token of \"", name,
            "\" has a space or control character (HTTP/2 metadata cannot carry it)"));
      }
    }
    if (!names.insert(std::string(name)).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("line ", line_number, ": name \"", name, "\" is given twice"));
    }
    TokenEntry entry{std::string(name), Sha256(token)};
    if (!digests.insert(HexDigest(entry.digest)).second) {
      return absl::InvalidArgumentError(absl::StrCat(
          "line ", line_number, ": \"", name, "\" has the same token as an earlier name"));
    }
    entries.push_back(std::move(entry));
  }
  return entries;
}

absl::StatusOr<std::unique_ptr<TokenAuth>> TokenAuth::Load(const std::string& path,
                                                         absl::Duration reload_check_interval) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("--auth_tokens ", path, ": cannot read: ", std::strerror(errno)));
  }
  EXPLAINER_ASSIGN_OR_RETURN(const std::string text, ReadText(path));
  EXPLAINER_ASSIGN_OR_RETURN(std::vector<TokenEntry> entries, ParseTokenFile(text),
                             "--auth_tokens ", path);
  if (entries.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--auth_tokens ", path, ": no name:token line (every call would be refused)"));
  }
  std::unique_ptr<TokenAuth> auth(new TokenAuth(path, reload_check_interval));
  absl::MutexLock lock(&auth->mu_);
  auth->entries_ = std::make_shared<const std::vector<TokenEntry>>(std::move(entries));
  auth->loaded_ = FileId{static_cast<long long>(info.st_ino), static_cast<long long>(info.st_size),
                         static_cast<long long>(info.st_mtim.tv_sec) * 1000000000LL +
                             info.st_mtim.tv_nsec};
  auth->last_check_ = absl::Now();
  return auth;
}

void TokenAuth::MaybeReload() {
  absl::MutexLock lock(&mu_);
  const absl::Time now = absl::Now();
  if (now - last_check_ < interval_) return;
  last_check_ = now;
  struct stat info {};
  if (::stat(path_.c_str(), &info) != 0) return;  // mid-rename: keep what we have
  const FileId id{static_cast<long long>(info.st_ino), static_cast<long long>(info.st_size),
                  static_cast<long long>(info.st_mtim.tv_sec) * 1000000000LL +
                      info.st_mtim.tv_nsec};
  if (id == loaded_) return;
  loaded_ = id;
  absl::StatusOr<std::string> text = ReadText(path_);
  absl::StatusOr<std::vector<TokenEntry>> entries =
      text.ok() ? ParseTokenFile(*text) : absl::StatusOr<std::vector<TokenEntry>>(text.status());
  if (!entries.ok()) {
    std::cerr << "explainer-server: --auth_tokens " << path_
              << " changed but is not usable, keeping the tokens loaded before: "
              << entries.status().message() << std::endl;
    return;
  }
  entries_ = std::make_shared<const std::vector<TokenEntry>>(*std::move(entries));
  std::cerr << "explainer-server: --auth_tokens " << path_ << " reloaded: " << entries_->size()
            << " callers" << std::endl;
}

TokenCheck TokenAuth::Check(absl::string_view authorization) {
  TokenCheck check;
  absl::string_view token = absl::StripAsciiWhitespace(authorization);
  // RFC 6750: the scheme is case-insensitive.
  if (token.size() < 7 || !absl::EqualsIgnoreCase(token.substr(0, 7), "bearer ")) {
    check.reason = "no bearer token";
    return check;
  }
  token = absl::StripAsciiWhitespace(token.substr(7));
  if (token.empty()) {
    check.reason = "no bearer token";
    return check;
  }
  MaybeReload();
  std::shared_ptr<const std::vector<TokenEntry>> entries;
  {
    absl::MutexLock lock(&mu_);
    entries = entries_;
  }
  // Compare digests (fixed length) with every entry, without stopping at a match:
  // the time taken says nothing about which bytes or which entry matched.
  const Digest presented = Sha256(token);
  const TokenEntry* match = nullptr;
  for (const TokenEntry& entry : *entries) {
    const bool equal =
        CRYPTO_memcmp(entry.digest.data(), presented.data(), presented.size()) == 0;
    if (equal) match = &entry;
  }
  if (match == nullptr) {
    check.reason = "unknown token";
    return check;
  }
  check.ok = true;
  check.caller = match->name;
  return check;
}

int TokenAuth::size() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(entries_->size());
}

}  // namespace explainer::security
