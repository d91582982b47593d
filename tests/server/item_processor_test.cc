// Tests of the item pipeline (pool -> batcher -> pool) with a fake engine: every
// request answered once, bad items never reach (or fail) a batch of good ones.
#include "service/server/item_processor.h"

#include <atomic>
#include <map>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/server/test_support.h"

namespace explainer::server {
namespace {

using ::explainer::server::testing::FakeRun;
using ::explainer::server::testing::FakeSpec;
using ::explainer::server::testing::PngBytes;
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

}  // namespace
}  // namespace explainer::server
