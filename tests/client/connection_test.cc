// Tests of client/connection: the wording of down / slow / refused.
#include "client/connection.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace explainer::client {
namespace {

using ::testing::HasSubstr;

TEST(DescribeCallErrorTest, DownSlowAndRefused) {
  ConnectionOptions options;
  options.server = "gpu-box:50051";
  options.deadline = absl::Seconds(5);
  EXPECT_THAT(DescribeCallError(absl::UnavailableError("Socket closed"), options),
              HasSubstr("the explainer server at gpu-box:50051 is unavailable: it is down, "
                        "restarting or unreachable (Socket closed)"));
  EXPECT_THAT(DescribeCallError(absl::DeadlineExceededError("Deadline Exceeded"), options),
              HasSubstr("is too slow: Deadline Exceeded (--deadline=5s)"));
  EXPECT_THAT(DescribeCallError(absl::PermissionDeniedError("no token"), options),
              HasSubstr("the explainer server at gpu-box:50051 refused: PERMISSION_DENIED "
                        "(no token)"));
  EXPECT_THAT(DescribeCallError(absl::ResourceExhaustedError("too big"), options),
              HasSubstr("--max-message-mb"));
}

}  // namespace
}  // namespace explainer::client
