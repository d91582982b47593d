// Shutdown with a hard deadline and a second-signal escape (see shutdown_controller.h).
#include "service/server/shutdown_controller.h"

#include <algorithm>
#include <csignal>
#include <memory>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"

namespace explainer::server {
namespace {

// How often the end of the shutdown is noticed while no signal arrives.
constexpr absl::Duration kPoll = absl::Milliseconds(50);

std::string Plural(int n, const char* one, const char* many) {
  return absl::StrCat(n, " ", n == 1 ? one : many);
}

}  // namespace

ShutdownOutcome RunShutdown(absl::AnyInvocable<void() &&> shutdown, absl::Duration limit,
                            absl::FunctionRef<int(absl::Duration timeout)> next_signal) {
  // Shared with the thread, which may outlive this call.
  auto done = std::make_shared<absl::Notification>();
  std::thread thread([done, shutdown = std::move(shutdown)]() mutable {
    std::move(shutdown)();
    done->Notify();
  });
  const absl::Time deadline = absl::Now() + limit;
  ShutdownOutcome outcome;
  while (!done->HasBeenNotified()) {
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) {
      outcome.kind = ShutdownOutcome::Kind::kHardDeadline;
      break;
    }
    if (const int signal = next_signal(std::min(left, kPoll)); signal != 0) {
      outcome.kind = ShutdownOutcome::Kind::kSecondSignal;
      outcome.signal = signal;
      break;
    }
  }
  if (outcome.kind == ShutdownOutcome::Kind::kClean) {
    thread.join();
  } else {
    thread.detach();
  }
  return outcome;
}

std::string ForcedExitLine(const ShutdownOutcome& outcome, absl::Duration limit,
                           int open_streams, int open_unary, int items_in_flight) {
  std::string why;
  if (outcome.kind == ShutdownOutcome::Kind::kSecondSignal) {
    why = absl::StrCat("second ", outcome.signal == SIGINT ? "SIGINT" : "SIGTERM",
                       " during shutdown");
  } else {
    why = absl::StrCat("shutdown still running after ", absl::FormatDuration(limit),
                       " (grace + --shutdown_hard_deadline_s)");
  }
  return absl::StrCat("explainer-server: ", why, "; exiting now (exit ",
                      kForcedExitCode, ") with ",
                      Plural(open_streams, "Explain stream", "Explain streams"), " and ",
                      Plural(open_unary, "ExplainImage call", "ExplainImage calls"),
                      " unanswered, ", Plural(items_in_flight, "item", "items"),
                      " in flight");
}

}  // namespace explainer::server
