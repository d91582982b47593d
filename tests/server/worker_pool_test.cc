// Tests of the worker pool: every task runs once, high priority first, drain on exit.
#include "service/server/worker_pool.h"

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/blocking_counter.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "service/server/call_token.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace explainer::server {
namespace {

using ::testing::ElementsAre;

TEST(WorkerPoolTest, RunsEveryTaskOnce) {
  constexpr int kTasks = 1000;
  std::vector<std::atomic<int>> runs(kTasks);
  absl::BlockingCounter done(kTasks);
  WorkerPool pool(4);
  EXPECT_EQ(pool.size(), 4);
  for (int i = 0; i < kTasks; ++i) {
    pool.Schedule([&runs, &done, i] {
      runs[i].fetch_add(1);
      done.DecrementCount();
    });
  }
  done.Wait();
  for (int i = 0; i < kTasks; ++i) EXPECT_EQ(runs[i].load(), 1) << i;
}

TEST(WorkerPoolTest, HighPriorityTasksJumpTheQueue) {
  absl::Mutex mu;
  std::vector<int> order;
  absl::Notification started, release;
  {
    WorkerPool pool(1);
    pool.Schedule([&] {
      started.Notify();
      release.WaitForNotification();
    });
    started.WaitForNotification();  // the only thread is busy; the rest queue up
    for (int i : {1, 2}) {
      pool.Schedule([&, i] {
        absl::MutexLock lock(&mu);
        order.push_back(i);
      });
    }
    pool.Schedule(
        [&] {
          absl::MutexLock lock(&mu);
          order.push_back(3);
        },
        WorkerPool::Priority::kHigh);
    release.Notify();
  }  // the destructor drains the queue
  EXPECT_THAT(order, ElementsAre(3, 1, 2));
}

TEST(WorkerPoolTest, DestructorRunsTasksScheduledByRunningTasks) {
  std::atomic<int> runs{0};
  {
    WorkerPool pool(2);
    WorkerPool* raw = &pool;
    for (int i = 0; i < 10; ++i) {
      pool.Schedule([raw, &runs] {
        runs.fetch_add(1);
        raw->Schedule([&runs] { runs.fetch_add(1); }, WorkerPool::Priority::kHigh);
      });
    }
  }
  EXPECT_EQ(runs.load(), 20);
}

TEST(WorkerPoolTest, ZeroThreadsMeansOnePerCore) {
  WorkerPool pool(0);
  EXPECT_GE(pool.size(), 1);
}

// One busy thread, then `big` queues 20 tasks and `small` 3: the lanes take turns,
// so small's tasks run among the first six, not after big's twenty.
TEST(WorkerPoolTest, LanesTakeTurns) {
  absl::Mutex mu;
  std::vector<std::string> order;
  absl::Notification started, release;
  auto big = std::make_shared<CallToken>();
  auto small = std::make_shared<CallToken>();
  {
    WorkerPool pool(1);
    pool.Schedule([&] {
      started.Notify();
      release.WaitForNotification();
    });
    started.WaitForNotification();
    auto record = [&](std::string name) {
      return [&, name] {
        absl::MutexLock lock(&mu);
        order.push_back(name);
      };
    };
    for (int i = 0; i < 20; ++i) {
      pool.Schedule(record("big"), WorkerPool::Priority::kNormal, big);
    }
    for (int i = 0; i < 3; ++i) {
      pool.Schedule(record("small"), WorkerPool::Priority::kNormal, small);
    }
    EXPECT_EQ(pool.queued(), 23);
    release.Notify();
  }
  ASSERT_EQ(order.size(), 23u);
  EXPECT_THAT(std::vector<std::string>(order.begin(), order.begin() + 6),
              ElementsAre("big", "small", "big", "small", "big", "small"));
}

TEST(WorkerPoolTest, CancelledLaneLeavesInOneTurn) {
  absl::Mutex mu;
  std::vector<std::string> order;
  absl::Notification started, release;
  auto gone = std::make_shared<CallToken>();
  auto other = std::make_shared<CallToken>();
  {
    WorkerPool pool(1);
    pool.Schedule([&] {
      started.Notify();
      release.WaitForNotification();
    });
    started.WaitForNotification();
    auto record = [&](std::string name) {
      return [&, name] {
        absl::MutexLock lock(&mu);
        order.push_back(name);
      };
    };
    for (int i = 0; i < 5; ++i) {
      pool.Schedule(record("gone"), WorkerPool::Priority::kNormal, gone);
      pool.Schedule(record("other"), WorkerPool::Priority::kNormal, other);
    }
    gone->Cancel();
    release.Notify();
  }
  // Every task still runs once (each answers its item), but the cancelled lane's
  // backlog goes in its first turn.
  EXPECT_THAT(order, ElementsAre("gone", "gone", "gone", "gone", "gone", "other",
                                 "other", "other", "other", "other"));
}

TEST(WorkerPoolTest, StalledOnlyWhileTasksWaitAndNoneFinishes) {
  absl::Notification started, release;
  WorkerPool pool(1);
  EXPECT_EQ(pool.StalledFor(absl::Now() + absl::Hours(1)), absl::ZeroDuration());
  pool.Schedule([&] {
    started.Notify();
    release.WaitForNotification();
  });
  started.WaitForNotification();
  // A long task alone is not a stall: nothing waits for the thread.
  EXPECT_EQ(pool.StalledFor(absl::Now() + absl::Hours(1)), absl::ZeroDuration());
  absl::Notification second_ran;
  pool.Schedule([&] { second_ran.Notify(); });
  EXPECT_GE(pool.StalledFor(absl::Now() + absl::Hours(1)), absl::Minutes(59));
  release.Notify();
  second_ran.WaitForNotification();
  EXPECT_EQ(pool.StalledFor(absl::Now() + absl::Hours(1)), absl::ZeroDuration());
}

}  // namespace
}  // namespace explainer::server
