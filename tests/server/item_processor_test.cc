// Tests of the item pipeline (pool -> batcher -> pool) with a fake engine: every
// request answered once, bad items never reach (or fail) a batch of good ones.
#include "service/server/item_processor.h"

#include <atomic>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/server/test_support.h"

namespace explainer::server {
namespace {

using ::explainer::server::testing::FakeRun;
using ::explainer::server::testing::FakeSpec;
using ::explainer::server::testing::PngBytes;
using ::testing::ElementsAre;
using ::testing::StartsWith;

class ItemProcessorTest : public ::testing::Test {
 protected:
  // Builds the pipeline around `runner`; counts the items that reach it.
  void Build(BatchRunner runner) {
    pool_ = std::make_unique<WorkerPool>(3);
    batcher_ = std::make_unique<Batcher>(
        [this, runner](absl::Span<const engine::EngineItem> batch) {
          items_run_.fetch_add(static_cast<int>(batch.size()));
          return runner(batch);
        },
        BatcherOptions{4, absl::Milliseconds(1)});
    processor_ = std::make_unique<ItemProcessor>(FakeSpec(), ItemLimits{}, pool_.get(),
                                                 batcher_.get());
  }

  void TearDown() override {
    if (batcher_) batcher_->Stop();
    pool_.reset();
  }

  void Send(const std::string& id, std::string image, int target_class = -1) {
    auto request = std::make_shared<v1::ExplainRequest>();
    request->set_request_id(id);
    request->set_image(std::move(image));
    if (target_class != -1) request->mutable_options()->set_target_class(target_class);
    processor_->Process(std::move(request), [this](v1::ExplainResponse response) {
      absl::MutexLock lock(&mu_);
      ++counts_[response.request_id()];
      responses_[response.request_id()] = std::move(response);
      ++total_;
    });
  }

  bool WaitFor(int n) {
    absl::MutexLock lock(&mu_);
    auto enough = [this, n]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return total_ >= n; };
    return mu_.AwaitWithTimeout(absl::Condition(&enough), absl::Seconds(60));
  }

  std::unique_ptr<WorkerPool> pool_;
  std::unique_ptr<Batcher> batcher_;
  std::unique_ptr<ItemProcessor> processor_;
  std::atomic<int> items_run_{0};
  absl::Mutex mu_;
  std::map<std::string, int> counts_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, v1::ExplainResponse> responses_ ABSL_GUARDED_BY(mu_);
  int total_ ABSL_GUARDED_BY(mu_) = 0;
};

TEST_F(ItemProcessorTest, GoodAndBadItemsAreEachAnsweredOnce) {
  Build(FakeRun);
  for (int i = 0; i < 20; ++i) {
    Send(absl::StrCat("good", i), PngBytes(30 + i, 20, i % 2 ? 250 : 10));
    Send(absl::StrCat("bad", i), i % 2 ? "garbage" : "");
  }
  Send("bad-class", PngBytes(30, 20), /*target_class=*/5);
  ASSERT_TRUE(WaitFor(41));

  absl::MutexLock lock(&mu_);
  EXPECT_EQ(counts_.size(), 41u);
  for (const auto& [id, count] : counts_) EXPECT_EQ(count, 1) << id;
  for (int i = 0; i < 20; ++i) {
    const v1::ExplainResponse& good = responses_[absl::StrCat("good", i)];
    ASSERT_TRUE(good.has_result()) << good.DebugString();
    EXPECT_EQ(good.result().predicted_name(), i % 2 ? "Malignant" : "Normal");
    EXPECT_EQ(good.result().original_width(), 30 + i);
    const v1::ExplainResponse& bad = responses_[absl::StrCat("bad", i)];
    ASSERT_TRUE(bad.has_error());
    EXPECT_EQ(bad.error().code(), 3);  // INVALID_ARGUMENT
    EXPECT_THAT(bad.error().message(), StartsWith("image: "));
  }
  EXPECT_EQ(responses_["bad-class"].error().code(), 3);
  EXPECT_THAT(responses_["bad-class"].error().message(),
              StartsWith("options.target_class: 5 is out of range"));
  // Bad items were stopped before batching: only the 20 good ones reached the engine.
  EXPECT_EQ(items_run_.load(), 20);
  EXPECT_EQ(processor_->in_flight(), 0);
}

TEST_F(ItemProcessorTest, FailedBatchFailsEachOfItsItemsWithTheEngineError) {
  Build([](absl::Span<const engine::EngineItem>)
            -> absl::StatusOr<std::vector<engine::EngineResult>> {
    return absl::InternalError("CUDA error: device-side assert triggered");
  });
  for (int i = 0; i < 6; ++i) Send(absl::StrCat("good", i), PngBytes(30, 20));
  Send("bad", "");
  ASSERT_TRUE(WaitFor(7));

  absl::MutexLock lock(&mu_);
  for (int i = 0; i < 6; ++i) {
    const v1::ExplainResponse& response = responses_[absl::StrCat("good", i)];
    ASSERT_TRUE(response.has_error());
    EXPECT_EQ(response.error().code(), 13);  // INTERNAL
    EXPECT_EQ(response.error().message(), "CUDA error: device-side assert triggered");
  }
  EXPECT_EQ(responses_["bad"].error().code(), 3);
  EXPECT_EQ(responses_["bad"].error().message(),
            "image: empty (the request carried no image bytes)");
}

TEST_F(ItemProcessorTest, SameRequestGivesTheSameResult) {
  Build(FakeRun);
  for (const char* id : {"a", "b"}) {
    auto request = std::make_shared<v1::ExplainRequest>();
    request->set_request_id(id);
    request->set_image(PngBytes(33, 21, 200));
    request->mutable_options()->set_return_raw_heatmap(true);
    request->mutable_options()->set_return_overlay_png(true);
    processor_->Process(std::move(request), [this](v1::ExplainResponse response) {
      absl::MutexLock lock(&mu_);
      responses_[response.request_id()] = std::move(response);
      ++total_;
    });
  }
  ASSERT_TRUE(WaitFor(2));
  absl::MutexLock lock(&mu_);
  v1::ExplainResult a = responses_["a"].result();
  v1::ExplainResult b = responses_["b"].result();
  a.clear_timings();
  b.clear_timings();
  EXPECT_EQ(a.SerializeAsString(), b.SerializeAsString());
  EXPECT_FALSE(a.overlay_png().empty());
}

// The pool's one thread is busy; 100 items of one call queue behind it; the call is
// cancelled. None of them may start a stage: none is decoded, none reaches the
// engine, each is answered Cancelled once.
TEST_F(ItemProcessorTest, CancelledCallsQueuedItemsStartNoStage) {
  pool_ = std::make_unique<WorkerPool>(1);
  batcher_ = std::make_unique<Batcher>(
      [this](absl::Span<const engine::EngineItem> batch) {
        items_run_.fetch_add(static_cast<int>(batch.size()));
        return FakeRun(batch);
      },
      BatcherOptions{4, absl::Milliseconds(1)});
  processor_ = std::make_unique<ItemProcessor>(FakeSpec(), ItemLimits{}, pool_.get(),
                                               batcher_.get());
  absl::Notification started, release;
  pool_->Schedule([&] {
    started.Notify();
    release.WaitForNotification();
  });
  started.WaitForNotification();
  auto call = std::make_shared<CallToken>();
  for (int i = 0; i < 100; ++i) {
    auto request = std::make_shared<v1::ExplainRequest>();
    request->set_request_id(absl::StrCat("r", i));
    request->set_image(PngBytes(30, 20));
    processor_->Process(std::move(request), call, Admission::Ticket(),
                        [this](v1::ExplainResponse response) {
                          absl::MutexLock lock(&mu_);
                          ++counts_[response.request_id()];
                          responses_[response.request_id()] = std::move(response);
                          ++total_;
                        });
  }
  call->Cancel();
  release.Notify();
  ASSERT_TRUE(WaitFor(100));
  EXPECT_EQ(processor_->stages_started(), 0);
  EXPECT_EQ(processor_->cancelled_items(), 100);
  EXPECT_EQ(items_run_.load(), 0);
  EXPECT_EQ(processor_->in_flight(), 0);
  absl::MutexLock lock(&mu_);
  EXPECT_EQ(counts_.size(), 100u);
  for (const auto& [id, count] : counts_) EXPECT_EQ(count, 1) << id;
  EXPECT_EQ(responses_["r0"].error().code(), 1);  // CANCELLED
}

// An item cancelled while its batch runs is not post-processed.
TEST_F(ItemProcessorTest, ItemCancelledDuringItsBatchIsNotFinished) {
  absl::Notification in_engine, release;
  Build([&](absl::Span<const engine::EngineItem> batch) {
    in_engine.Notify();
    release.WaitForNotification();
    return FakeRun(batch);
  });
  auto call = std::make_shared<CallToken>();
  auto request = std::make_shared<v1::ExplainRequest>();
  request->set_request_id("x");
  request->set_image(PngBytes(30, 20));
  processor_->Process(std::move(request), call, Admission::Ticket(),
                      [this](v1::ExplainResponse response) {
                        absl::MutexLock lock(&mu_);
                        responses_[response.request_id()] = std::move(response);
                        ++total_;
                      });
  ASSERT_TRUE(in_engine.WaitForNotificationWithTimeout(absl::Seconds(60)));
  call->Cancel();
  release.Notify();
  ASSERT_TRUE(WaitFor(1));
  EXPECT_EQ(processor_->stages_started(), 1);  // prepare only, no finish
  EXPECT_EQ(processor_->cancelled_items(), 1);
  absl::MutexLock lock(&mu_);
  EXPECT_EQ(responses_["x"].error().code(), 1);
}

// One thread, busy; a big call queues 40 items, then a small call 4. Calls take
// turns at the prepare stage, so the small call's items reach the engine among the
// first eight (FIFO would put them last, at 40..43). The runner records the order
// items arrive in, which is the prepare order: one worker, Submit in prepare order.
TEST_F(ItemProcessorTest, SmallCallIsNotStarvedByABigOne) {
  absl::Mutex order_mu;
  std::vector<bool> small_order;  // per item the engine saw: was it the small call's?
  pool_ = std::make_unique<WorkerPool>(1);
  batcher_ = std::make_unique<Batcher>(
      [&](absl::Span<const engine::EngineItem> batch) {
        absl::MutexLock lock(&order_mu);
        for (const engine::EngineItem& item : batch) {
          small_order.push_back(item.target_class == std::optional<int>(1));
        }
        return FakeRun(batch);
      },
      BatcherOptions{4, absl::Milliseconds(1)});
  processor_ = std::make_unique<ItemProcessor>(FakeSpec(), ItemLimits{}, pool_.get(),
                                               batcher_.get());
  absl::Notification started, release;
  pool_->Schedule([&] {
    started.Notify();
    release.WaitForNotification();
  });
  started.WaitForNotification();
  auto send = [this](const std::shared_ptr<CallToken>& call, const std::string& id,
                     int target_class) {
    auto request = std::make_shared<v1::ExplainRequest>();
    request->set_request_id(id);
    request->set_image(PngBytes(30, 20));
    if (target_class >= 0) request->mutable_options()->set_target_class(target_class);
    processor_->Process(std::move(request), call, Admission::Ticket(),
                        [this](v1::ExplainResponse response) {
                          absl::MutexLock lock(&mu_);
                          responses_[response.request_id()] = std::move(response);
                          ++total_;
                        });
  };
  auto big = std::make_shared<CallToken>();
  auto small = std::make_shared<CallToken>();
  for (int i = 0; i < 40; ++i) send(big, absl::StrCat("big", i), -1);
  for (int i = 0; i < 4; ++i) send(small, absl::StrCat("small", i), 1);
  release.Notify();
  ASSERT_TRUE(WaitFor(44));
  absl::MutexLock lock(&order_mu);
  ASSERT_EQ(small_order.size(), 44u);
  std::vector<int> small_positions;
  for (int i = 0; i < 44; ++i) {
    if (small_order[i]) small_positions.push_back(i);
  }
  EXPECT_THAT(small_positions, ElementsAre(1, 3, 5, 7));
}

}  // namespace
}  // namespace explainer::server
