// Tests of the dynamic batcher with fake runners (no LibTorch, no timing assertions).
#include "service/server/batcher.h"

#include <atomic>
#include <memory>
#include <stdexcept>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/blocking_counter.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "common/preprocess.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/status_matchers.h"

namespace explainer::server {
namespace {

using ::explainer::testing::IsOk;
using ::testing::Each;
using ::testing::ElementsAre;
using ::testing::Le;

// Liveness guard only: a broken batcher hangs, a working one answers in milliseconds.
constexpr absl::Duration kHangGuard = absl::Seconds(60);

// Inputs whose width is their id, so a fake runner can tell items apart.
std::vector<std::unique_ptr<common::ModelInput>> MakeInputs(int n) {
  std::vector<std::unique_ptr<common::ModelInput>> inputs;
  for (int i = 0; i < n; ++i) {
    inputs.push_back(std::make_unique<common::ModelInput>());
    inputs.back()->width = i;
  }
  return inputs;
}

engine::EngineItem ItemFor(const common::ModelInput& input) {
  engine::EngineItem item;
  item.input = &input;
  return item;
}

// Echoes each item's id as its predicted index; records batches; can hold the first
// batch until released, so that later items pile up in a known order.
class FakeRunner {
 public:
  explicit FakeRunner(bool hold_first_batch = false) : hold_first_(hold_first_batch) {}

  BatchRunner AsRunner() {
    return [this](absl::Span<const engine::EngineItem> batch) { return Run(batch); };
  }

  absl::StatusOr<std::vector<engine::EngineResult>> Run(
      absl::Span<const engine::EngineItem> batch) {
    bool hold = false;
    {
      absl::MutexLock lock(&mu_);
      std::vector<int> ids;
      for (const engine::EngineItem& item : batch) ids.push_back(item.input->width);
      batches_.push_back(ids);
      hold = hold_first_ && batches_.size() == 1;
    }
    if (hold) {
      first_started_.Notify();
      release_.WaitForNotification();
    }
    if (fail_batch_with_id_ >= 0) {
      for (const engine::EngineItem& item : batch) {
        if (item.input->width == fail_batch_with_id_) {
          return absl::InternalError("fake engine failed on this batch");
        }
      }
    }
    std::vector<engine::EngineResult> results;
    for (const engine::EngineItem& item : batch) {
      engine::EngineResult result;
      result.predicted_index = item.input->width;
      results.push_back(result);
    }
    return results;
  }

  std::vector<std::vector<int>> batches() {
    absl::MutexLock lock(&mu_);
    return batches_;
  }

  void WaitFirstStarted() {
    ASSERT_TRUE(first_started_.WaitForNotificationWithTimeout(kHangGuard));
  }
  void Release() { release_.Notify(); }
  void FailBatchesWith(int id) { fail_batch_with_id_ = id; }

 private:
  const bool hold_first_;
  std::atomic<int> fail_batch_with_id_{-1};
  absl::Notification first_started_;
  absl::Notification release_;
  absl::Mutex mu_;
  std::vector<std::vector<int>> batches_ ABSL_GUARDED_BY(mu_);
};

// Collects every answer; counts answers per id to catch duplicates and losses.
class Answers {
 public:
  explicit Answers(int n) : counts_(n), statuses_(n), predicted_(n, -1), sizes_(n, 0) {}

  Batcher::Done For(int id) {
    return
        [this, id](absl::StatusOr<engine::EngineResult> result, const BatchStats& stats) {
          absl::MutexLock lock(&mu_);
          ++counts_[id];
          statuses_[id] = result.status();
          if (result.ok()) predicted_[id] = result->predicted_index;
          sizes_[id] = stats.batch_size;
          ++total_;
        };
  }

  // Waits until `n` answers came in (a hang guard, not a timing check).
  bool WaitFor(int n) {
    absl::MutexLock lock(&mu_);
    auto enough = [this, n]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return total_ >= n; };
    return mu_.AwaitWithTimeout(absl::Condition(&enough), kHangGuard);
  }

  std::vector<int> counts() {
    absl::MutexLock lock(&mu_);
    return counts_;
  }
  absl::Status status(int id) {
    absl::MutexLock lock(&mu_);
    return statuses_[id];
  }
  int predicted(int id) {
    absl::MutexLock lock(&mu_);
    return predicted_[id];
  }
  int batch_size(int id) {
    absl::MutexLock lock(&mu_);
    return sizes_[id];
  }

 private:
  absl::Mutex mu_;
  std::vector<int> counts_ ABSL_GUARDED_BY(mu_);
  std::vector<absl::Status> statuses_ ABSL_GUARDED_BY(mu_);
  std::vector<int> predicted_ ABSL_GUARDED_BY(mu_);
  std::vector<int> sizes_ ABSL_GUARDED_BY(mu_);
  int total_ ABSL_GUARDED_BY(mu_) = 0;
};

TEST(BatcherTest, QueuedItemsRunInFullBatchesOfAtMostMaxSizeInOrder) {
  FakeRunner runner(/*hold_first_batch=*/true);
  Batcher batcher(runner.AsRunner(), {/*max_batch_size=*/4, absl::Milliseconds(1)});
  auto inputs = MakeInputs(15);
  Answers answers(15);

  batcher.Submit(ItemFor(*inputs[0]), answers.For(0));
  runner.WaitFirstStarted();  // the engine is busy with item 0 ...
  for (int i = 1; i < 15; ++i) batcher.Submit(ItemFor(*inputs[i]), answers.For(i));
  EXPECT_EQ(batcher.queued(), 14);  // ... so everything else queues up
  runner.Release();
  ASSERT_TRUE(answers.WaitFor(15));

  EXPECT_THAT(
      runner.batches(),
      ElementsAre(ElementsAre(0), ElementsAre(1, 2, 3, 4), ElementsAre(5, 6, 7, 8),
                  ElementsAre(9, 10, 11, 12), ElementsAre(13, 14)));
  EXPECT_THAT(answers.counts(), Each(1));
  for (int i = 0; i < 15; ++i) {
    EXPECT_TRUE(answers.status(i).ok()) << i;
    EXPECT_EQ(answers.predicted(i), i);
  }
  EXPECT_EQ(answers.batch_size(0), 1);
  EXPECT_EQ(answers.batch_size(7), 4);
  EXPECT_EQ(answers.batch_size(14), 2);
}

TEST(BatcherTest, LoneItemRunsWithoutAFullBatch) {
  // The delay is an upper bound: with room for 64, one item must still run.
  FakeRunner runner;
  Batcher batcher(runner.AsRunner(), {/*max_batch_size=*/64, absl::Milliseconds(2)});
  auto inputs = MakeInputs(1);
  Answers answers(1);
  batcher.Submit(ItemFor(*inputs[0]), answers.For(0));
  ASSERT_TRUE(answers.WaitFor(1));
  EXPECT_THAT(runner.batches(), ElementsAre(ElementsAre(0)));
}

TEST(BatcherTest, FullBatchDoesNotWaitForTheDelay) {
  // A day-long delay: only a full batch can run, and it must run at once.
  FakeRunner runner;
  Batcher batcher(runner.AsRunner(), {/*max_batch_size=*/3, absl::Hours(24)});
  auto inputs = MakeInputs(3);
  Answers answers(3);
  for (int i = 0; i < 3; ++i) batcher.Submit(ItemFor(*inputs[i]), answers.For(i));
  ASSERT_TRUE(answers.WaitFor(3));
  EXPECT_THAT(runner.batches(), ElementsAre(ElementsAre(0, 1, 2)));
}

TEST(BatcherTest, ConcurrentSubmittersAreAllAnsweredExactlyOnce) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 100;
  constexpr int kMaxBatch = 5;
  FakeRunner runner;
  Batcher batcher(runner.AsRunner(), {kMaxBatch, absl::Milliseconds(1)});
  auto inputs = MakeInputs(kThreads * kPerThread);
  Answers answers(kThreads * kPerThread);

  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const int id = t * kPerThread + i;
        batcher.Submit(ItemFor(*inputs[id]), answers.For(id));
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  ASSERT_TRUE(answers.WaitFor(kThreads * kPerThread));

  EXPECT_THAT(answers.counts(), Each(1));
  for (int id = 0; id < kThreads * kPerThread; ++id) {
    ASSERT_EQ(answers.predicted(id), id);
  }
  size_t ran = 0;
  for (const std::vector<int>& batch : runner.batches()) {
    EXPECT_THAT(batch.size(), Le(static_cast<size_t>(kMaxBatch)));
    ran += batch.size();
  }
  EXPECT_EQ(ran, static_cast<size_t>(kThreads * kPerThread));
}

TEST(BatcherTest, RunnerErrorReachesEveryItemOfThatBatchOnly) {
  FakeRunner runner(/*hold_first_batch=*/true);
  runner.FailBatchesWith(3);
  Batcher batcher(runner.AsRunner(), {/*max_batch_size=*/4, absl::Milliseconds(1)});
  auto inputs = MakeInputs(6);
  Answers answers(6);

  batcher.Submit(ItemFor(*inputs[0]), answers.For(0));
  runner.WaitFirstStarted();
  for (int i = 1; i < 5; ++i) batcher.Submit(ItemFor(*inputs[i]), answers.For(i));
  runner.Release();
  ASSERT_TRUE(answers.WaitFor(5));
  // The batcher carries on after a failed batch.
  batcher.Submit(ItemFor(*inputs[5]), answers.For(5));
  ASSERT_TRUE(answers.WaitFor(6));

  EXPECT_THAT(runner.batches(),
              ElementsAre(ElementsAre(0), ElementsAre(1, 2, 3, 4), ElementsAre(5)));
  EXPECT_THAT(answers.status(0), IsOk());
  for (int i = 1; i < 5; ++i) {
    EXPECT_EQ(answers.status(i).code(), absl::StatusCode::kInternal) << i;
    EXPECT_EQ(answers.status(i).message(), "fake engine failed on this batch");
  }
  EXPECT_TRUE(answers.status(5).ok());
  EXPECT_THAT(answers.counts(), Each(1));
}

TEST(BatcherTest, WrongNumberOfResultsFailsTheBatch) {
  Batcher batcher(
      [](absl::Span<const engine::EngineItem>)
          -> absl::StatusOr<std::vector<engine::EngineResult>> {
        return std::vector<engine::EngineResult>{};
      },
      {/*max_batch_size=*/8, absl::Milliseconds(1)});
  auto inputs = MakeInputs(1);
  Answers answers(1);
  batcher.Submit(ItemFor(*inputs[0]), answers.For(0));
  ASSERT_TRUE(answers.WaitFor(1));
  EXPECT_EQ(answers.status(0).code(), absl::StatusCode::kInternal);
  EXPECT_EQ(answers.status(0).message(), "engine returned 0 results for a batch of 1");
}

TEST(BatcherTest, ThrowingRunnerBecomesInternalError) {
  Batcher batcher(
      [](absl::Span<const engine::EngineItem>)
          -> absl::StatusOr<std::vector<engine::EngineResult>> {
        throw std::runtime_error("out of memory");
      },
      {/*max_batch_size=*/8, absl::Milliseconds(1)});
  auto inputs = MakeInputs(1);
  Answers answers(1);
  batcher.Submit(ItemFor(*inputs[0]), answers.For(0));
  ASSERT_TRUE(answers.WaitFor(1));
  EXPECT_EQ(answers.status(0).code(), absl::StatusCode::kInternal);
  EXPECT_EQ(answers.status(0).message(), "engine batch failed: out of memory");
}

TEST(BatcherTest, StopRunsWhatIsQueuedThenRejectsNewItems) {
  FakeRunner runner(/*hold_first_batch=*/true);
  // A day-long delay: only full batches run, until Stop.
  Batcher batcher(runner.AsRunner(), {/*max_batch_size=*/2, absl::Hours(24)});
  auto inputs = MakeInputs(6);
  Answers answers(6);
  batcher.Submit(ItemFor(*inputs[0]), answers.For(0));
  batcher.Submit(ItemFor(*inputs[1]), answers.For(1));
  runner.WaitFirstStarted();
  for (int i = 2; i < 5; ++i) batcher.Submit(ItemFor(*inputs[i]), answers.For(i));
  std::thread stopper([&] { batcher.Stop(); });  // blocks until the queue is empty
  runner.Release();
  stopper.join();

  // Item 4 sat alone in a half-full batch: Stop ran it anyway.
  EXPECT_THAT(runner.batches(),
              ElementsAre(ElementsAre(0, 1), ElementsAre(2, 3), ElementsAre(4)));
  EXPECT_THAT(answers.counts(), ElementsAre(1, 1, 1, 1, 1, 0));
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(answers.status(i).ok()) << i;

  batcher.Submit(ItemFor(*inputs[5]), answers.For(5));
  ASSERT_TRUE(answers.WaitFor(6));
  EXPECT_EQ(answers.status(5).code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(answers.status(5).message(), "the server is shutting down");
  batcher.Stop();  // idempotent
}

TEST(BatcherTest, ItemsOfACancelledCallNeverReachTheRunner) {
  FakeRunner runner(/*hold_first_batch=*/true);
  Batcher batcher(runner.AsRunner(), {/*max_batch_size=*/4, absl::Milliseconds(1)});
  auto inputs = MakeInputs(11);
  Answers answers(11);
  auto gone = std::make_shared<CallToken>();
  auto alive = std::make_shared<CallToken>();

  batcher.Submit(ItemFor(*inputs[0]), answers.For(0), alive);
  runner.WaitFirstStarted();  // the engine is busy; the rest queues
  for (int i = 1; i < 11; ++i) {
    batcher.Submit(ItemFor(*inputs[i]), answers.For(i), i % 3 == 0 ? alive : gone);
  }
  gone->Cancel();
  runner.Release();
  ASSERT_TRUE(answers.WaitFor(11));

  // Only the live call's items ran, batched together; the others were answered
  // Cancelled without a batch.
  EXPECT_THAT(runner.batches(), ElementsAre(ElementsAre(0), ElementsAre(3, 6, 9)));
  EXPECT_THAT(answers.counts(), Each(1));
  for (int i = 1; i < 11; ++i) {
    if (i % 3 == 0) {
      EXPECT_TRUE(answers.status(i).ok()) << i;
    } else {
      EXPECT_EQ(answers.status(i).code(), absl::StatusCode::kCancelled) << i;
    }
  }
  EXPECT_EQ(batcher.dropped(), 7);
}

TEST(BatcherTest, ExpiredDeadlineCountsAsCancelled) {
  FakeRunner runner(/*hold_first_batch=*/true);
  Batcher batcher(runner.AsRunner(), {/*max_batch_size=*/4, absl::Milliseconds(1)});
  auto inputs = MakeInputs(2);
  Answers answers(2);
  batcher.Submit(ItemFor(*inputs[0]), answers.For(0));
  runner.WaitFirstStarted();
  batcher.Submit(ItemFor(*inputs[1]), answers.For(1),
                 std::make_shared<CallToken>(absl::Now() - absl::Seconds(1)));
  runner.Release();
  ASSERT_TRUE(answers.WaitFor(2));
  EXPECT_THAT(runner.batches(), ElementsAre(ElementsAre(0)));
  EXPECT_EQ(answers.status(1).code(), absl::StatusCode::kCancelled);
}

TEST(BatcherTest, StalledWhileABatchHangsWithItemsWaiting) {
  FakeRunner runner(/*hold_first_batch=*/true);
  Batcher batcher(runner.AsRunner(), {/*max_batch_size=*/1, absl::Milliseconds(1)});
  auto inputs = MakeInputs(2);
  Answers answers(2);
  EXPECT_EQ(batcher.StalledFor(), absl::ZeroDuration());  // nothing waits
  batcher.Submit(ItemFor(*inputs[0]), answers.For(0));
  runner.WaitFirstStarted();
  // The running batch alone is not a stall: nothing waits behind it.
  EXPECT_EQ(batcher.StalledFor(absl::Now() + absl::Hours(1)), absl::ZeroDuration());
  batcher.Submit(ItemFor(*inputs[1]), answers.For(1));
  EXPECT_GE(batcher.StalledFor(absl::Now() + absl::Hours(1)), absl::Minutes(59));
  runner.Release();
  ASSERT_TRUE(answers.WaitFor(2));
  EXPECT_EQ(batcher.StalledFor(absl::Now() + absl::Hours(1)), absl::ZeroDuration());
}

}  // namespace
}  // namespace explainer::server
