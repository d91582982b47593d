// Tests of the worker pool: every task runs once, high priority first, drain on exit.
#include "service/server/worker_pool.h"

#include <atomic>
#include <vector>

#include "absl/synchronization/blocking_counter.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
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

}  // namespace
}  // namespace explainer::server
