// --log_format=json: the server's own log lines as one JSON object per line, for a
// cluster's log pipeline. Installed once at start-up, it replaces the buffers of
// std::cout and std::cerr (every line the server writes goes through them) and
// gRPC's log function, so the code that logs does not change:
//   {"time":"2026-01-02T03:04:05.678Z","severity":"INFO","logger":"explainer-server",
//    "message":"serving model ..."}
#ifndef EXPLAINER_SERVICE_SERVER_JSON_LOG_H_
#define EXPLAINER_SERVICE_SERVER_JSON_LOG_H_

#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace explainer::server {

// One JSON line (with its newline). `message` loses a leading "explainer-server: "
// and is made valid UTF-8 (common::ToValidUtf8: invalid bytes as \xNN) and
// JSON-escaped.
std::string JsonLogLine(absl::Time time, absl::string_view severity,
                        absl::string_view message);

// The severity of a line the server wrote: stdout (the start-up line) is INFO; on
// stderr, lines that report normal events (a signal, health back to SERVING, where
// metrics are served) are INFO, health NOT_SERVING is WARNING, the rest (bad flags,
// start-up failures, a forced exit, gRPC errors) are ERROR.
absl::string_view SeverityOf(bool is_stdout, absl::string_view message);

// From now on std::cout and std::cerr write JSON lines to fds 1 and 2 (a line is
// written when its '\n' arrives, so a partial line is held until then); with
// `grpc_errors`, gRPC's own ERROR logs become JSON lines on stderr as well.
// Call once, before other threads log. Never undone.
void InstallJsonLogging(bool grpc_errors);

}  // namespace explainer::server

#endif  // EXPLAINER_SERVICE_SERVER_JSON_LOG_H_
