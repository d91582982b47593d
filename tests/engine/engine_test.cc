// Engine on the committed tiny bundle: spec, goldens from an independent PyTorch
// Grad-CAM (make_engine_goldens.py), batching, prediction-only items, bad batches.
#include "service/engine/engine.h"

#include <iostream>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/engine/golden_cases.h"
#include "tests/status_matchers.h"

namespace explainer::engine {
namespace {

using ::explainer::engine::testing::GoldenCase;
using ::explainer::engine::testing::LoadGoldenCases;
using ::explainer::engine::testing::MaxAbsDiff;
using ::explainer::engine::testing::TinyBundle;
using ::explainer::testing::IsOk;
using ::testing::ElementsAre;
using ::testing::FloatEq;
using ::testing::HasSubstr;

constexpr double kProbabilityTolerance = 1e-5;
constexpr double kCamTolerance = 1e-4;
constexpr int kGoldenCases = 4;

class EngineTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    EngineOptions options;
    options.model_path = TinyBundle();
    options.intra_op_threads = 2;
    absl::StatusOr<std::unique_ptr<Engine>> engine = Engine::Create(options);
    ASSERT_THAT(engine, IsOk());
    engine_ = std::move(engine).value().release();
    cases_ = new std::vector<GoldenCase>(LoadGoldenCases());
  }
  static void TearDownTestSuite() {
    delete engine_;
    delete cases_;
  }
  void SetUp() override {
    ASSERT_NE(engine_, nullptr);
    ASSERT_EQ(cases_->size(), kGoldenCases) << "tests/data/engine/golden/golden.json unreadable";
  }

  static EngineItem ItemOf(const GoldenCase& c, bool explain = true) {
    EngineItem item;
    item.input = &c.input;
    item.target_class = c.target_class;
    item.explain = explain;
    return item;
  }

  // Checks one result against its golden and returns {probability, cam} max abs diffs.
  static std::pair<double, double> ExpectMatchesGolden(const EngineResult& result,
                                                       const GoldenCase& golden) {
    const double prob_diff = MaxAbsDiff(result.probabilities, golden.probabilities);
    EXPECT_LE(prob_diff, kProbabilityTolerance);
    EXPECT_EQ(result.predicted_index, golden.predicted_index);
    EXPECT_EQ(result.explained_index, golden.explained_index);
    EXPECT_EQ(result.cam.type(), CV_32FC1);
    EXPECT_EQ(result.cam.size(), golden.cam.size());
    const double cam_diff = MaxAbsDiff(result.cam, golden.cam);
    EXPECT_LE(cam_diff, kCamTolerance);
    return {prob_diff, cam_diff};
  }

  static Engine* engine_;
  static std::vector<GoldenCase>* cases_;
};

Engine* EngineTest::engine_ = nullptr;
std::vector<GoldenCase>* EngineTest::cases_ = nullptr;

TEST_F(EngineTest, ReportsTheBundleSpec) {
  const ModelSpec& spec = engine_->spec();
  EXPECT_EQ(spec.name, "tiny_efficientnet-test");
  EXPECT_EQ(spec.version, "1");
  EXPECT_THAT(spec.class_names, ElementsAre("Normal", "Benign", "Malignant"));
  EXPECT_EQ(spec.input_size, cv::Size(80, 64));  // width x height
  EXPECT_THAT(spec.normalization.mean,
              ElementsAre(FloatEq(0.485f), FloatEq(0.456f), FloatEq(0.406f)));
  EXPECT_THAT(spec.normalization.std,
              ElementsAre(FloatEq(0.229f), FloatEq(0.224f), FloatEq(0.225f)));
  EXPECT_EQ(spec.target_layer, "features");
  EXPECT_EQ(engine_->device(), "cpu");
}

TEST_F(EngineTest, EachItemMatchesTheIndependentGradCam) {
  double worst_prob = 0.0, worst_cam = 0.0;
  for (size_t i = 0; i < cases_->size(); ++i) {
    SCOPED_TRACE(::testing::Message() << "golden case " << i);
    const EngineItem item = ItemOf((*cases_)[i]);
    absl::StatusOr<std::vector<EngineResult>> results = engine_->Run({&item, 1});
    ASSERT_THAT(results, IsOk());
    ASSERT_EQ(results->size(), 1u);
    const auto [prob_diff, cam_diff] = ExpectMatchesGolden((*results)[0], (*cases_)[i]);
    worst_prob = std::max(worst_prob, prob_diff);
    worst_cam = std::max(worst_cam, cam_diff);
  }
  std::cout << "single items vs golden: max |dp| = " << worst_prob << ", max |dcam| = " << worst_cam
            << "\n";
  RecordProperty("max_prob_diff", std::to_string(worst_prob));
  RecordProperty("max_cam_diff", std::to_string(worst_cam));
}

TEST_F(EngineTest, ABatchGivesWhatSingleItemsGive) {
  std::vector<EngineItem> batch;
  for (const GoldenCase& c : *cases_) batch.push_back(ItemOf(c));
  absl::StatusOr<std::vector<EngineResult>> results = engine_->Run(batch);
  ASSERT_THAT(results, IsOk());
  ASSERT_EQ(results->size(), cases_->size());
  double worst_prob = 0.0, worst_cam = 0.0;
  for (size_t i = 0; i < cases_->size(); ++i) {
    SCOPED_TRACE(::testing::Message() << "batch position " << i);
    const auto [prob_diff, cam_diff] = ExpectMatchesGolden((*results)[i], (*cases_)[i]);
    worst_prob = std::max(worst_prob, prob_diff);
    worst_cam = std::max(worst_cam, cam_diff);
    absl::StatusOr<std::vector<EngineResult>> single = engine_->Run({&batch[i], 1});
    ASSERT_THAT(single, IsOk());
    EXPECT_LE(MaxAbsDiff((*single)[0].probabilities, (*results)[i].probabilities), 1e-6);
    EXPECT_LE(MaxAbsDiff((*single)[0].cam, (*results)[i].cam), 1e-5);
  }
  std::cout << "batch of " << batch.size() << " vs golden: max |dp| = " << worst_prob
            << ", max |dcam| = " << worst_cam << "\n";
}

TEST_F(EngineTest, TheRequestedClassIsExplainedNotThePrediction) {
  const GoldenCase& golden = (*cases_)[2];
  ASSERT_TRUE(golden.target_class.has_value());
  ASSERT_NE(*golden.target_class, golden.predicted_index);
  EngineItem requested = ItemOf(golden);
  EngineItem predicted = requested;
  predicted.target_class.reset();
  absl::StatusOr<std::vector<EngineResult>> results =
      engine_->Run(std::vector<EngineItem>{requested, predicted});
  ASSERT_THAT(results, IsOk());
  EXPECT_EQ((*results)[0].explained_index, *golden.target_class);
  EXPECT_EQ((*results)[1].explained_index, golden.predicted_index);
  EXPECT_EQ((*results)[0].predicted_index, (*results)[1].predicted_index);
  // Different classes give different maps (a CAM that ignored the target would not).
  EXPECT_GT(MaxAbsDiff((*results)[0].cam, (*results)[1].cam), 0.1);
}

TEST_F(EngineTest, PredictionOnlyItemsGetProbabilitiesAndNoCam) {
  std::vector<EngineItem> batch;
  for (const GoldenCase& c : *cases_) batch.push_back(ItemOf(c, /*explain=*/false));
  absl::StatusOr<std::vector<EngineResult>> results = engine_->Run(batch);  // forward only
  ASSERT_TRUE(results.ok()) << results.status();
  for (size_t i = 0; i < cases_->size(); ++i) {
    SCOPED_TRACE(::testing::Message() << "case " << i);
    EXPECT_LE(MaxAbsDiff((*results)[i].probabilities, (*cases_)[i].probabilities),
              kProbabilityTolerance);
    EXPECT_EQ((*results)[i].predicted_index, (*cases_)[i].predicted_index);
    EXPECT_EQ((*results)[i].explained_index, -1);
    EXPECT_TRUE((*results)[i].cam.empty());
  }
}

TEST_F(EngineTest, AMixedBatchExplainsOnlyTheItemsThatAsk) {
  std::vector<EngineItem> batch;
  for (size_t i = 0; i < cases_->size(); ++i) batch.push_back(ItemOf((*cases_)[i], i % 2 == 0));
  absl::StatusOr<std::vector<EngineResult>> results = engine_->Run(batch);
  ASSERT_THAT(results, IsOk());
  for (size_t i = 0; i < cases_->size(); ++i) {
    SCOPED_TRACE(::testing::Message() << "case " << i);
    if (i % 2 == 0) {
      ExpectMatchesGolden((*results)[i], (*cases_)[i]);
    } else {
      EXPECT_LE(MaxAbsDiff((*results)[i].probabilities, (*cases_)[i].probabilities),
                kProbabilityTolerance);
      EXPECT_EQ((*results)[i].explained_index, -1);
      EXPECT_TRUE((*results)[i].cam.empty());
    }
  }
}

TEST_F(EngineTest, AnEmptyBatchGivesNoResults) {
  absl::StatusOr<std::vector<EngineResult>> results = engine_->Run({});
  ASSERT_THAT(results, IsOk());
  EXPECT_TRUE(results->empty());
}

TEST_F(EngineTest, TargetClassOutOfRangeIsInvalidArgument) {
  for (int bad : {3, -1}) {
    EngineItem ok_item = ItemOf((*cases_)[0]);
    EngineItem bad_item = ok_item;
    bad_item.target_class = bad;
    absl::StatusOr<std::vector<EngineResult>> results =
        engine_->Run(std::vector<EngineItem>{ok_item, bad_item});
    ASSERT_EQ(results.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(results.status().message(),
                HasSubstr(absl::StrCat("batch item 1: target class ", bad,
                                       " is out of range: model 'tiny_efficientnet-test' has "
                                       "3 classes (0..2)")));
  }
}

TEST_F(EngineTest, AnInputOfTheWrongSizeIsInvalidArgument) {
  common::ModelInput square;
  square.width = 64;
  square.height = 64;
  square.chw.assign(3 * 64 * 64, 0.0f);
  EngineItem item;
  item.input = &square;
  absl::StatusOr<std::vector<EngineResult>> results = engine_->Run({&item, 1});
  ASSERT_EQ(results.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(results.status().message(),
              HasSubstr("batch item 0: input is 64x64 (height x width) but model "
                        "'tiny_efficientnet-test' takes 64x80 (height x width)"));
  // Swapped sides are caught too (the bundle is not square on purpose).
  square.width = 64;
  square.height = 80;
  square.chw.assign(3 * 64 * 80, 0.0f);
  results = engine_->Run({&item, 1});
  ASSERT_EQ(results.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(results.status().message(), HasSubstr("input is 80x64 (height x width)"));
}

TEST_F(EngineTest, AnInputWithTheWrongValueCountIsInvalidArgument) {
  common::ModelInput short_input = (*cases_)[0].input;
  short_input.chw.resize(100);
  EngineItem item;
  item.input = &short_input;
  absl::StatusOr<std::vector<EngineResult>> results = engine_->Run({&item, 1});
  ASSERT_EQ(results.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(results.status().message(),
              HasSubstr("batch item 0: input has 100 values, expected 3 x 64 x 80 = 15360"));
}

TEST_F(EngineTest, AMissingInputIsInvalidArgument) {
  EngineItem item;  // input == nullptr
  absl::StatusOr<std::vector<EngineResult>> results = engine_->Run({&item, 1});
  ASSERT_EQ(results.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(results.status().message(), HasSubstr("batch item 0: no input"));
}

}  // namespace
}  // namespace explainer::engine
