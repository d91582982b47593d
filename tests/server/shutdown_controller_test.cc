// Tests of the shutdown controller: clean shutdown, the hard deadline, a second
// signal; and the forced-exit log line. Fake shutdowns and signal sources; no
// timing assertions.
#include "service/server/shutdown_controller.h"

#include <csignal>
#include <memory>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace explainer::server {
namespace {

using Kind = ShutdownOutcome::Kind;

int NoSignal(absl::Duration timeout) {
  absl::SleepFor(timeout);
  return 0;
}

TEST(ShutdownControllerTest, CleanShutdownIsJoined) {
  bool ran = false;
  const ShutdownOutcome outcome =
      RunShutdown([&ran] { ran = true; }, absl::Hours(1), NoSignal);
  EXPECT_EQ(outcome.kind, Kind::kClean);
  EXPECT_TRUE(ran);  // joined: visible here without synchronisation
}

TEST(ShutdownControllerTest, StuckShutdownHitsTheHardDeadline) {
  auto release = std::make_shared<absl::Notification>();
  const ShutdownOutcome outcome = RunShutdown(
      [release] { release->WaitForNotification(); }, absl::Milliseconds(50), NoSignal);
  EXPECT_EQ(outcome.kind, Kind::kHardDeadline);
  release->Notify();  // lets the detached thread end
}

TEST(ShutdownControllerTest, SecondSignalEndsTheWaitAtOnce) {
  auto release = std::make_shared<absl::Notification>();
  int polls = 0;
  const ShutdownOutcome outcome = RunShutdown(
      [release] { release->WaitForNotification(); }, absl::Hours(1),
      [&polls](absl::Duration timeout) {
        if (++polls < 3) {
          absl::SleepFor(timeout);
          return 0;
        }
        return SIGINT;
      });
  EXPECT_EQ(outcome.kind, Kind::kSecondSignal);
  EXPECT_EQ(outcome.signal, SIGINT);
  EXPECT_EQ(polls, 3);
  release->Notify();
}

TEST(ShutdownControllerTest, ForcedExitLineCountsWhatWasUnanswered) {
  ShutdownOutcome second{Kind::kSecondSignal, SIGTERM};
  EXPECT_EQ(ForcedExitLine(second, absl::Seconds(35), 1, 3, 7),
            "explainer-server: second SIGTERM during shutdown; exiting now (exit 2) with "
            "1 Explain stream and 3 ExplainImage calls unanswered, 7 items in flight");
  ShutdownOutcome deadline{Kind::kHardDeadline, 0};
  EXPECT_EQ(ForcedExitLine(deadline, absl::Seconds(35), 0, 1, 1),
            "explainer-server: shutdown still running after 35s (grace + "
            "--shutdown_hard_deadline_s); exiting now (exit 2) with 0 Explain streams "
            "and 1 ExplainImage call unanswered, 1 item in flight");
}

}  // namespace
}  // namespace explainer::server
