// Engine::Create on bad bundles, devices and options: the code and the message.
#include <algorithm>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "service/engine/engine.h"
#include "tests/engine/golden_cases.h"
#include "tests/status_matchers.h"

namespace explainer::engine {
namespace {

using ::explainer::engine::testing::EngineData;
using ::explainer::engine::testing::LoadGoldenCases;
using ::explainer::engine::testing::MaxAbsDiff;
using ::explainer::engine::testing::TinyBundle;
using ::explainer::testing::IsOk;
using ::testing::HasSubstr;

absl::Status CreateStatus(const std::string& path, const std::string& device = "cpu") {
  EngineOptions options;
  options.model_path = path;
  options.device = device;
  return Engine::Create(options).status();
}

TEST(EngineCreateTest, AMissingFileIsNotFound) {
  const std::string path = EngineData("no_such_bundle.pt");
  const absl::Status status = CreateStatus(path);
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(status.message(), HasSubstr("bundle " + path + ": no such file"));
}

TEST(EngineCreateTest, AnEmptyPathIsInvalidArgument) {
  const absl::Status status = CreateStatus("");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("no model bundle path given"));
}

TEST(EngineCreateTest, ADirectoryIsInvalidArgument) {
  const absl::Status status = CreateStatus(EngineData("golden"));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("not a regular file"));
}

TEST(EngineCreateTest, ATextFileIsNotATorchScriptArchive) {
  const absl::Status status = CreateStatus(EngineData("bad_not_torchscript.pt"));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("bad_not_torchscript.pt: not a TorchScript archive"));
}

TEST(EngineCreateTest, ATrainingCheckpointIsNotABundle) {
  const absl::Status status = CreateStatus(EngineData("bad_checkpoint.pth"));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("bad_checkpoint.pth: not a TorchScript archive"));
  EXPECT_THAT(status.message(), HasSubstr("tools/export_model.py"));
}

TEST(EngineCreateTest, AMissingMethodIsNamed) {
  const absl::Status status = CreateStatus(EngineData("bad_missing_head.pt"));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("bad_missing_head.pt: missing method 'head'"));
}

TEST(EngineCreateTest, AMissingExplainerJsonIsNamed) {
  const absl::Status status = CreateStatus(EngineData("bad_no_spec.pt"));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("bad_no_spec.pt: has no extra file 'explainer.json'"));
}

TEST(EngineCreateTest, AMissingSpecFieldIsNamed) {
  const absl::Status status = CreateStatus(EngineData("bad_spec_field.pt"));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(),
              HasSubstr("bad_spec_field.pt: explainer.json: missing field 'mean'"));
}

TEST(EngineCreateTest, AClassCountThatDisagreesWithTheLogitsIsNamed) {
  const absl::Status status = CreateStatus(EngineData("bad_class_count.pt"));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(),
              HasSubstr("forward(x) gives 3 class scores but explainer.json class_names lists 2 "
                        "(Normal, Malignant)"));
}

TEST(EngineCreateTest, HeadOfFeaturesMustEqualForward) {
  const absl::Status status = CreateStatus(EngineData("bad_head_mismatch.pt"));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("head(features(x)) differs from forward(x) by "));
  EXPECT_THAT(status.message(), HasSubstr("features() must end where head() begins"));
}

TEST(EngineCreateTest, FeaturesMustBeFourDimensional) {
  const absl::Status status = CreateStatus(EngineData("bad_features_3d.pt"));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(),
              HasSubstr("features(x) must give [N, K, h, w] activations, got [2, 4, 256]"));
}

TEST(EngineCreateTest, AnUnknownDeviceIsInvalidArgument) {
  for (const char* device : {"tpu", "CPU", "cuda:", "cuda:x", "cuda:-1", "gpu:0"}) {
    const absl::Status status = CreateStatus(TinyBundle(), device);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << device;
    EXPECT_THAT(status.message(), HasSubstr(absl::StrCat("unknown device \"", device, "\"")));
  }
}

TEST(EngineCreateTest, ACudaOrdinalBeyondTheDevicesIsFailedPrecondition) {
  const absl::Status status = CreateStatus(TinyBundle(), "cuda:99");
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(status.message(), HasSubstr("device \"cuda:99\" requested but"));
}

// Without a GPU (CI) "cuda" is a clear startup error; with one the engine runs there and
// matches the goldens as tightly as on the CPU (the engine turns TF32 off).
TEST(EngineCreateTest, CudaRunsWhereItExistsAndIsAClearErrorElsewhere) {
  EngineOptions options;
  options.model_path = TinyBundle();
  options.device = "cuda";
  absl::StatusOr<std::unique_ptr<Engine>> engine = Engine::Create(options);
  if (!engine.ok()) {
    EXPECT_EQ(engine.status().code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_THAT(engine.status().message(),
                HasSubstr("device \"cuda\" requested but CUDA is not available to LibTorch"));
    return;
  }
  EXPECT_EQ((*engine)->device(), "cuda:0");
  auto cases = LoadGoldenCases();
  ASSERT_FALSE(cases.empty());
  std::vector<EngineItem> batch;
  for (const auto& c : cases) {
    EngineItem item;
    item.input = &c.input;
    item.target_class = c.target_class;
    batch.push_back(item);
  }
  absl::StatusOr<std::vector<EngineResult>> results = (*engine)->Run(batch);
  ASSERT_THAT(results, IsOk());
  double worst_prob = 0.0, worst_cam = 0.0;
  for (size_t i = 0; i < cases.size(); ++i) {
    EXPECT_EQ((*results)[i].explained_index, cases[i].explained_index) << i;
    worst_prob =
        std::max(worst_prob, MaxAbsDiff((*results)[i].probabilities, cases[i].probabilities));
    worst_cam = std::max(worst_cam, MaxAbsDiff((*results)[i].cam, cases[i].cam));
  }
  std::cout << "cuda batch vs golden: max |dp| = " << worst_prob << ", max |dcam| = " << worst_cam
            << "\n";
  EXPECT_LE(worst_prob, 1e-5);
  EXPECT_LE(worst_cam, 1e-4);
}

TEST(EngineCreateTest, NegativeThreadCountIsInvalidArgument) {
  EngineOptions options;
  options.model_path = TinyBundle();
  options.intra_op_threads = -1;
  const absl::Status status = Engine::Create(options).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("intra_op_threads must be >= 0"));
}

}  // namespace
}  // namespace explainer::engine
