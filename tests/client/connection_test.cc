// Tests of client/connection: the wording of down / slow / refused.
#include "client/connection.h"

#include <atomic>
#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "explainer/v1/explainer.grpc.pb.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "tests/status_matchers.h"

namespace explainer::client {
namespace {

using ::explainer::testing::IsOk;
using ::testing::AllOf;
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

// GetModelInfo refused `refusals` times with RESOURCE_EXHAUSTED, then answered.
class BusyService final : public explainer::v1::Explainer::CallbackService {
 public:
  explicit BusyService(int refusals) : refusals_(refusals) {}
  grpc::ServerUnaryReactor* GetModelInfo(grpc::CallbackServerContext* context,
                                         const explainer::v1::GetModelInfoRequest* /*request*/,
                                         explainer::v1::ModelInfo* response) override {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    if (calls_.fetch_add(1) < refusals_) {
      reactor->Finish(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                                   "server busy: 1 items in flight, limit 1 (--max_inflight_items)"));
    } else {
      response->set_name("busy-model");
      reactor->Finish(grpc::Status::OK);
    }
    return reactor;
  }
  int calls() const { return calls_.load(); }

 private:
  const int refusals_;
  std::atomic<int> calls_{0};
};

absl::StatusOr<explainer::v1::ModelInfo> FetchFromBusyServer(int refusals, int* calls) {
  BusyService service(refusals);
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ConnectionOptions options;
  options.server = absl::StrCat("127.0.0.1:", port);
  options.retry_backoff = absl::Milliseconds(10);
  options.max_attempts = 4;
  auto stub = explainer::v1::Explainer::NewStub(
      grpc::CreateChannel(options.server, grpc::InsecureChannelCredentials()));
  absl::StatusOr<explainer::v1::ModelInfo> info = FetchModelInfo(*stub, options);
  *calls = service.calls();
  server->Shutdown();
  return info;
}

TEST(FetchModelInfoTest, RetriesABusyServerWithBackoff) {
  int calls = 0;
  absl::StatusOr<explainer::v1::ModelInfo> info = FetchFromBusyServer(3, &calls);
  ASSERT_THAT(info, IsOk());
  EXPECT_EQ(info->name(), "busy-model");
  EXPECT_EQ(calls, 4);
}

TEST(FetchModelInfoTest, SaysHowOftenItWasRefused) {
  int calls = 0;
  absl::StatusOr<explainer::v1::ModelInfo> info = FetchFromBusyServer(100, &calls);
  EXPECT_EQ(calls, 4);
  EXPECT_EQ(info.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(info.status().message(),
              AllOf(HasSubstr("(--max_inflight_items)"), HasSubstr("refused 4 times in"),
                    HasSubstr("retried with backoff")));
}

}  // namespace
}  // namespace explainer::client
