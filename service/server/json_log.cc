// JSON log lines (see json_log.h).
#include "service/server/json_log.h"

#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <mutex>
#include <streambuf>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/strip.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/utf8.h"
#include "grpc/support/log.h"

namespace explainer::server {
namespace {

constexpr absl::string_view kPrefix = "explainer-server: ";

void AppendJsonString(std::string& out, absl::string_view text) {
  out.push_back('"');
  for (const char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          absl::StrAppend(&out, "\\u00", absl::Hex(static_cast<unsigned char>(c), absl::kZeroPad2));
        } else {
          out.push_back(c);
        }
    }
  }
  out.push_back('"');
}

void WriteAll(int fd, const std::string& text) {
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n <= 0) return;  // nowhere to log to
    done += static_cast<size_t>(n);
  }
}

// Collects what a stream writes and emits each complete line as JSON, at once (so a
// line flushed before a forced _Exit is not lost). Shared by threads: locked.
class JsonLineBuf : public std::streambuf {
 public:
  JsonLineBuf(int fd, bool is_stdout) : fd_(fd), is_stdout_(is_stdout) {}

 protected:
  int_type overflow(int_type c) override {
    if (traits_type::eq_int_type(c, traits_type::eof())) return traits_type::not_eof(c);
    const char ch = traits_type::to_char_type(c);
    xsputn(&ch, 1);
    return c;
  }

  std::streamsize xsputn(const char* s, std::streamsize n) override {
    std::lock_guard<std::mutex> lock(mu_);
    for (std::streamsize i = 0; i < n; ++i) {
      if (s[i] == '\n') {
        WriteAll(fd_, JsonLogLine(absl::Now(), SeverityOf(is_stdout_, line_), line_));
        line_.clear();
      } else {
        line_.push_back(s[i]);
      }
    }
    return n;
  }

 private:
  const int fd_;
  const bool is_stdout_;
  std::mutex mu_;
  std::string line_;
};

void JsonGrpcLog(gpr_log_func_args* args) {
  if (args->severity < GPR_LOG_SEVERITY_ERROR) return;
  WriteAll(STDERR_FILENO,
           JsonLogLine(absl::Now(), "ERROR",
                       absl::StrCat("grpc: ", args->message, " (", args->file, ":",
                                    args->line, ")")));
}

}  // namespace

std::string JsonLogLine(absl::Time time, absl::string_view severity,
                        absl::string_view message) {
  absl::ConsumePrefix(&message, kPrefix);
  std::string out = "{\"time\":";
  AppendJsonString(out, absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", time, absl::UTCTimeZone()));
  out += ",\"severity\":";
  AppendJsonString(out, severity);
  out += ",\"logger\":\"explainer-server\",\"message\":";
  AppendJsonString(out, common::ToValidUtf8(message));
  out += "}\n";
  return out;
}

absl::string_view SeverityOf(bool is_stdout, absl::string_view message) {
  if (is_stdout) return "INFO";
  absl::ConsumePrefix(&message, kPrefix);
  for (absl::string_view info : {"SIGTERM", "SIGINT", "health SERVING again", "metrics at "}) {
    if (absl::StartsWith(message, info)) return "INFO";
  }
  if (absl::StartsWith(message, "health NOT_SERVING")) return "WARNING";
  return "ERROR";
}

void InstallJsonLogging(bool grpc_errors) {
  // Leaked on purpose: the streams use them until the very end of the process.
  static JsonLineBuf* out = new JsonLineBuf(STDOUT_FILENO, /*is_stdout=*/true);
  static JsonLineBuf* err = new JsonLineBuf(STDERR_FILENO, /*is_stdout=*/false);
  std::cout.flush();
  std::cerr.flush();
  std::cout.rdbuf(out);
  std::cerr.rdbuf(err);
  if (grpc_errors) gpr_set_log_function(JsonGrpcLog);
}

}  // namespace explainer::server
