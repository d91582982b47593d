// IdleMemoryTrimmer trims once per busy -> idle edge, never under load or when
// nothing happened.
#include "service/server/idle_memory_trimmer.h"

#include <atomic>

#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"

namespace explainer::server {
namespace {

// A long period keeps the trimmer's own thread out of the way: the test polls.
constexpr absl::Duration kNeverOnItsOwn = absl::Hours(1);

TEST(IdleMemoryTrimmerTest, TrimsOncePerBusyToIdleEdge) {
  std::atomic<int> in_flight{0};
  int trims = 0;
  IdleMemoryTrimmer trimmer([&] { return in_flight.load(); }, [&] { ++trims; },
                            kNeverOnItsOwn);
  EXPECT_FALSE(trimmer.Poll());  // idle from the start: nothing to give back
  in_flight = 3;
  EXPECT_FALSE(trimmer.Poll());  // never under load
  EXPECT_FALSE(trimmer.Poll());
  EXPECT_EQ(trims, 0);
  in_flight = 0;
  EXPECT_TRUE(trimmer.Poll());  // the edge
  EXPECT_FALSE(trimmer.Poll());  // still idle: once is enough
  EXPECT_EQ(trims, 1);
  in_flight = 1;
  trimmer.Poll();
  in_flight = 0;
  EXPECT_TRUE(trimmer.Poll());
  EXPECT_EQ(trims, 2);
}

TEST(IdleMemoryTrimmerTest, ItsThreadTrimsAfterWorkEnds) {
  std::atomic<int> in_flight{1};
  absl::Notification seen_busy;
  absl::Notification trimmed;
  IdleMemoryTrimmer trimmer(
      [&] {
        const int now = in_flight.load();
        if (now > 0 && !seen_busy.HasBeenNotified()) seen_busy.Notify();
        return now;
      },
      [&] {
        if (!trimmed.HasBeenNotified()) trimmed.Notify();
      },
      absl::Milliseconds(5));
  ASSERT_TRUE(seen_busy.WaitForNotificationWithTimeout(absl::Seconds(30)));
  EXPECT_FALSE(trimmed.HasBeenNotified());  // not while busy
  in_flight = 0;
  EXPECT_TRUE(trimmed.WaitForNotificationWithTimeout(absl::Seconds(30)));
}

}  // namespace
}  // namespace explainer::server
