// Bounds how long the binary's shutdown may take: the graceful shutdown runs on its
// own thread while the caller watches for its end, a hard deadline, and a second
// signal. explainer-server exits at once (non-zero, logging what was unanswered)
// when the deadline passes or a second SIGTERM/SIGINT arrives.
#ifndef EXPLAINER_SERVICE_SERVER_SHUTDOWN_CONTROLLER_H_
#define EXPLAINER_SERVICE_SERVER_SHUTDOWN_CONTROLLER_H_

#include <string>

#include "absl/functional/any_invocable.h"
#include "absl/functional/function_ref.h"
#include "absl/time/time.h"

namespace explainer::server {

struct ShutdownOutcome {
  enum class Kind {
    kClean,         // the shutdown finished in time
    kHardDeadline,  // it was still running at the deadline
    kSecondSignal,  // a signal arrived while it ran
  };
  Kind kind = Kind::kClean;
  int signal = 0;  // kSecondSignal: which one
};

// Runs `shutdown` on a new thread and waits for it for at most `limit`, meanwhile
// polling `next_signal(timeout)` (returns a signal number, or 0 when none arrived
// within timeout). On kClean the thread has been joined; otherwise it is detached
// and still running: the caller is expected to exit the process.
ShutdownOutcome RunShutdown(absl::AnyInvocable<void() &&> shutdown, absl::Duration limit,
                            absl::FunctionRef<int(absl::Duration timeout)> next_signal);

// The one log line for a forced exit, e.g. "explainer-server: second SIGINT during
// shutdown; exiting now (exit 2) with 1 Explain stream and 3 ExplainImage calls
// unanswered, 7 items in flight".
std::string ForcedExitLine(const ShutdownOutcome& outcome, absl::Duration limit,
                           int open_streams, int open_unary, int items_in_flight);

// The exit status of a forced exit (documented in the README).
inline constexpr int kForcedExitCode = 2;

}  // namespace explainer::server

#endif  // EXPLAINER_SERVICE_SERVER_SHUTDOWN_CONTROLLER_H_
