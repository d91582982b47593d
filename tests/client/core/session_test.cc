// Tests of client/core/session.h against the in-process fake server: what a
// command starts with (output folder, session, request options checked against
// the model) and the exit status of each way it can fail; one stream runner for
// the plain and the round_robin connection.
#include "client/core/session.h"

#include <set>
#include <string>

#include "absl/synchronization/mutex.h"
#include "client/exit_codes.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/client/fake_explainer_service.h"
#include "tests/client/temp_dir.h"
#include "tests/status_matchers.h"

namespace explainer::client {
namespace {

using ::explainer::testing::FakeServer;
using ::explainer::testing::IsOk;
using ::explainer::testing::TempDir;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

ConnectionOptions Connection(const std::string& server) {
  ConnectionOptions options;
  options.server = server;
  options.connect_timeout = absl::Seconds(10);
  options.deadline = absl::Seconds(30);
  return options;
}

TEST(StartSessionTest, CreatesTheFolderAndChecksTheOptionsAgainstTheModel) {
  FakeServer server;
  TempDir dir;
  ExplainSettings settings;
  settings.target_class = "benign";
  settings.thresholds = {0.5f};
  settings.image_weight = 0.25f;
  settings.road = true;
  const SessionStart start = StartSession(dir.Path("out/deeper"), Connection(server.address()),
                                          settings);
  ASSERT_NE(start.session, nullptr) << start.error;
  EXPECT_TRUE(std::filesystem::is_directory(dir.Path("out/deeper")));
  EXPECT_EQ(start.session->model().name(), "fake");
  EXPECT_THAT(start.session->class_names(), ElementsAre("Normal", "Benign", "Malignant"));
  const explainer::v1::ExplainOptions& request = start.request_options;
  EXPECT_EQ(request.method(), explainer::v1::CAM_METHOD_GRAD_CAM);
  EXPECT_EQ(request.target_class(), 1);
  EXPECT_THAT(request.iou_thresholds(), ElementsAre(0.5f));
  EXPECT_FLOAT_EQ(request.overlay_image_weight(), 0.25f);
  EXPECT_TRUE(request.faithfulness().road());
  EXPECT_FALSE(request.faithfulness().cam_multiply());
  EXPECT_FALSE(request.return_overlay_png());  // outputs are the command's to ask for
}

TEST(StartSessionTest, OptionsTheModelRefusesAreUsageErrorsNamingTheFlag) {
  FakeServer server;
  TempDir dir;
  ExplainSettings method;
  method.method = explainer::v1::CAM_METHOD_HIRES_CAM;  // the fake offers grad-cam only
  SessionStart start = StartSession(dir.path(), Connection(server.address()), method);
  EXPECT_EQ(start.session, nullptr);
  EXPECT_EQ(start.exit_code, kExitUsage);
  EXPECT_EQ(start.error, "--method: the server does not offer hires-cam");

  ExplainSettings target;
  target.target_class = "Osteosarcoma";
  start = StartSession(dir.path(), Connection(server.address()), target);
  EXPECT_EQ(start.exit_code, kExitUsage);
  EXPECT_THAT(start.error, HasSubstr("--target-class: the model has no class 'Osteosarcoma'"));
}

TEST(StartSessionTest, UnreachableServerIsExitServerAndABadFolderExitFailed) {
  TempDir dir;
  ConnectionOptions dead = Connection("127.0.0.1:1");
  dead.connect_timeout = absl::Milliseconds(300);
  SessionStart start = StartSession(dir.path(), dead, ExplainSettings());
  EXPECT_EQ(start.exit_code, kExitServer);
  EXPECT_THAT(start.error, HasSubstr("cannot reach the explainer server at 127.0.0.1:1"));

  dir.Write("file", "x");
  start = StartSession(dir.Path("file/out"), dead, ExplainSettings());
  EXPECT_EQ(start.exit_code, kExitFailed);  // before any connection is tried
  EXPECT_THAT(start.error, HasSubstr("--out: cannot create the folder " + dir.Path("file/out")));
}

// Every item answered exactly once, whether one stream carries them or the
// round_robin runner spreads them over several.
class RunExplainStreamTest : public ::testing::TestWithParam<std::string> {};

TEST_P(RunExplainStreamTest, AnswersEveryItemOnce) {
  FakeServer server;
  ConnectionOptions connection = Connection(server.address());
  connection.lb_policy = GetParam();
  std::unique_ptr<explainer::v1::Explainer::Stub> stub = server.NewStub();
  absl::Mutex mu;
  std::multiset<size_t> answered;
  int results = 0;
  const absl::Status status = RunExplainStream(
      stub.get(), connection, /*window=*/3, /*count=*/10,
      [](size_t i) {
        explainer::v1::ExplainRequest request;
        request.set_image(std::string(i + 1, 'x'));
        return request;
      },
      [&](StreamAnswer answer) {
        absl::MutexLock lock(&mu);
        answered.insert(answer.index);
        results += answer.response.ok() && answer.response->has_result() ? 1 : 0;
      });
  EXPECT_THAT(status, IsOk());
  EXPECT_EQ(answered.size(), 10u);
  for (size_t i = 0; i < 10; ++i) EXPECT_EQ(answered.count(i), 1u) << i;
  EXPECT_EQ(results, 10);
  EXPECT_LE(server.service().max_outstanding(), 3 * (GetParam().empty() ? 1 : 4));
}

INSTANTIATE_TEST_SUITE_P(PlainAndBalanced, RunExplainStreamTest,
                         ::testing::Values(std::string(), std::string("round_robin")));

}  // namespace
}  // namespace explainer::client
