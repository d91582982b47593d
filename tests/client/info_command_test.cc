// Tests of client/info_command: the printed model info, and errors.
#include "client/info_command.h"

#include <cstdio>
#include <string>

#include "client/exit_codes.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/client/fake_explainer_service.h"
#include "tests/client/temp_dir.h"

namespace explainer::client {
namespace {

using ::testing::HasSubstr;

TEST(RunInfoTest, PrintsEveryField) {
  explainer::testing::FakeServer server;
  explainer::testing::TempDir dir;
  const std::string out_path = dir.Path("out.txt");
  std::FILE* out = std::fopen(out_path.c_str(), "w");
  ConnectionOptions options;
  options.server = server.address();
  EXPECT_EQ(RunInfo(options, out, stderr), kExitOk);
  std::fclose(out);
  const std::string text = explainer::testing::ReadAll(out_path);
  EXPECT_THAT(text, HasSubstr("model:         fake 0.1\n"));
  EXPECT_THAT(text, HasSubstr("classes:       0 Normal, 1 Benign, 2 Malignant\n"));
  EXPECT_THAT(text, HasSubstr("input size:    224 x 224 (width x height), RGB\n"));
  EXPECT_THAT(text, HasSubstr("mean:          0.485 0.456 0.406\n"));
  EXPECT_THAT(text, HasSubstr("std:           0.229 0.224 0.225\n"));
  EXPECT_THAT(text, HasSubstr("device:        cpu\n"));
  EXPECT_THAT(text, HasSubstr("target layer:  features\n"));
  EXPECT_THAT(text, HasSubstr("methods:       grad-cam\n"));
  EXPECT_THAT(text, HasSubstr("limits:        max batch size 8, max image pixels 67108864\n"));
}

TEST(RunInfoTest, DeadServer) {
  explainer::testing::TempDir dir;
  const std::string err_path = dir.Path("err.txt");
  std::FILE* err = std::fopen(err_path.c_str(), "w");
  ConnectionOptions options;
  options.server = "127.0.0.1:1";
  options.connect_timeout = absl::Milliseconds(300);
  EXPECT_EQ(RunInfo(options, stdout, err), kExitServer);
  std::fclose(err);
  EXPECT_THAT(explainer::testing::ReadAll(err_path),
              HasSubstr("explainer info: cannot reach the explainer server at 127.0.0.1:1 "
                        "(no connection within 300ms). Is explainer-server running there?"));
}

}  // namespace
}  // namespace explainer::client
