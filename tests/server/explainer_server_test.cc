// In-process gRPC tests of the whole server (real gRPC on 127.0.0.1:0, real pipeline)
// around a fake engine: stream semantics, backpressure, errors, health, reflection,
// cancellation and shutdown. No LibTorch; no timing assertions.
#include "service/server/explainer_server.h"

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "explainer/v1/explainer.grpc.pb.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "tests/server/test_support.h"
#include "tests/status_matchers.h"

namespace explainer::server {
namespace {

using ::explainer::server::testing::FakeRun;
using ::explainer::server::testing::FakeSpec;
using ::explainer::server::testing::HealthStatus;
using ::explainer::server::testing::LabelMeJson;
using ::explainer::server::testing::PickFreePort;
using ::explainer::server::testing::PngBytes;
using ::explainer::server::testing::ReflectedServices;
using ::explainer::testing::IsOk;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::StartsWith;

constexpr int kServing = 1;
constexpr int kNotServing = 2;

// Polls `done` until it holds; a hang guard, not a timing check.
template <typename F>
bool Eventually(F done) {
  const absl::Time give_up = absl::Now() + absl::Seconds(60);
  while (!done()) {
    if (absl::Now() > give_up) return false;
    absl::SleepFor(absl::Milliseconds(5));
  }
  return true;
}

// FakeRun, but when held, the next batch waits until Release(): the engine is "busy",
// so items pile up behind it in a known state.
class GatedRunner {
 public:
  BatchRunner AsRunner() {
    return [this](absl::Span<const engine::EngineItem> batch) {
      bool hold;
      {
        absl::MutexLock lock(&mu_);
        batch_sizes_.push_back(static_cast<int>(batch.size()));
        hold = hold_;
        hold_ = false;
        if (hold) holding_ = true;
      }
      if (hold) release_.WaitForNotification();
      return FakeRun(batch);
    };
  }
  void Hold() {
    absl::MutexLock lock(&mu_);
    hold_ = true;
  }
  bool WaitHolding() {
    absl::MutexLock lock(&mu_);
    return mu_.AwaitWithTimeout(absl::Condition(&holding_), absl::Seconds(60));
  }
  void Release() { release_.Notify(); }
  std::vector<int> batch_sizes() {
    absl::MutexLock lock(&mu_);
    return batch_sizes_;
  }

 private:
  absl::Mutex mu_;
  bool hold_ ABSL_GUARDED_BY(mu_) = false;
  bool holding_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<int> batch_sizes_ ABSL_GUARDED_BY(mu_);
  absl::Notification release_;
};

ServerOptions TestOptions() {
  ServerOptions options;
  options.address = "127.0.0.1:0";
  options.workers = 2;
  options.max_batch_size = 8;
  options.batch_delay = absl::Milliseconds(2);
  options.stream_window = 32;
  options.shutdown_grace = absl::Seconds(2);
  return options;
}

v1::ExplainRequest Request(const std::string& id, std::string image) {
  v1::ExplainRequest request;
  request.set_request_id(id);
  request.set_image(std::move(image));
  return request;
}

class ExplainerServerTest : public ::testing::Test {
 protected:
  void Start(ServerOptions options = TestOptions()) {
    absl::StatusOr<std::unique_ptr<ExplainerServer>> server =
        ExplainerServer::StartWithRunner(options, FakeSpec(), "cpu", runner_.AsRunner());
    ASSERT_THAT(server, IsOk());
    server_ = std::move(*server);
    channel_ = grpc::CreateChannel(absl::StrCat("127.0.0.1:", server_->port()),
                                   grpc::InsecureChannelCredentials());
    stub_ = v1::Explainer::NewStub(channel_);
  }

  static void SetDeadline(grpc::ClientContext* context) {
    context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  }

  // Sends every request on one stream, half-closes, reads every answer.
  std::vector<v1::ExplainResponse> Stream(const std::vector<v1::ExplainRequest>& requests,
                                          grpc::Status* status) {
    grpc::ClientContext context;
    SetDeadline(&context);
    auto stream = stub_->Explain(&context);
    std::vector<v1::ExplainResponse> responses;
    // Reading on a second thread: with a window, writes can wait on our reads.
    std::thread reader([&] {
      v1::ExplainResponse response;
      while (stream->Read(&response)) responses.push_back(response);
    });
    for (const v1::ExplainRequest& request : requests) {
      if (!stream->Write(request)) break;
    }
    stream->WritesDone();
    reader.join();
    *status = stream->Finish();
    return responses;
  }

  GatedRunner runner_;
  std::unique_ptr<ExplainerServer> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Explainer::Stub> stub_;
};

TEST_F(ExplainerServerTest, StartupLineHealthAndReflection) {
  Start();
  EXPECT_GT(server_->port(), 0);
  EXPECT_EQ(server_->StartupLine(),
            absl::StrCat("explainer-server: serving model \"fake\" version 1.0 (classes: "
                         "Normal, Benign, Malignant) on cpu at 127.0.0.1:",
                         server_->port()));
  EXPECT_EQ(HealthStatus(channel_, "").value_or(-1), kServing);
  EXPECT_EQ(HealthStatus(channel_, "explainer.v1.Explainer").value_or(-1), kServing);
  EXPECT_EQ(HealthStatus(channel_, "no.such.Service").status().code(),
            absl::StatusCode::kNotFound);
  absl::StatusOr<std::vector<std::string>> services = ReflectedServices(channel_);
  ASSERT_THAT(services, IsOk());
  EXPECT_THAT(*services, Contains("explainer.v1.Explainer"));
  EXPECT_THAT(*services, Contains("grpc.health.v1.Health"));
}

TEST_F(ExplainerServerTest, NotServingUntilTheWarmUpBatchHasRun) {
  ServerOptions options = TestOptions();
  const int port = PickFreePort();
  ASSERT_GT(port, 0);
  options.address = absl::StrCat("127.0.0.1:", port);
  runner_.Hold();  // the warm-up batch waits
  std::unique_ptr<ExplainerServer> server;
  std::thread starter([&] {
    auto started =
        ExplainerServer::StartWithRunner(options, FakeSpec(), "cpu", runner_.AsRunner());
    ASSERT_THAT(started, IsOk());
    server = std::move(*started);
  });
  ASSERT_TRUE(runner_.WaitHolding());
  auto channel = grpc::CreateChannel(options.address, grpc::InsecureChannelCredentials());
  absl::StatusOr<int> overall, named;
  ASSERT_TRUE(Eventually([&] {  // the port opens just before the warm-up starts
    overall = HealthStatus(channel, "");
    return overall.ok();
  }));
  named = HealthStatus(channel, "explainer.v1.Explainer");
  EXPECT_EQ(*overall, kNotServing);
  EXPECT_EQ(named.value_or(-1), kNotServing);
  runner_.Release();
  starter.join();
  EXPECT_EQ(HealthStatus(channel, "").value_or(-1), kServing);
  EXPECT_EQ(HealthStatus(channel, "explainer.v1.Explainer").value_or(-1), kServing);
}

TEST(ExplainerServerStartTest, FailedWarmUpFailsStart) {
  auto server = ExplainerServer::StartWithRunner(
      TestOptions(), FakeSpec(), "cpu",
      [](absl::Span<const engine::EngineItem>)
          -> absl::StatusOr<std::vector<engine::EngineResult>> {
        return absl::InternalError("no kernel image is available");
      });
  EXPECT_EQ(server.status().code(), absl::StatusCode::kInternal);
  EXPECT_EQ(server.status().message(),
            "warm-up batch failed: no kernel image is available");
}

TEST(ExplainerServerStartTest, AddressInUseFailsStart) {
  auto first =
      ExplainerServer::StartWithRunner(TestOptions(), FakeSpec(), "cpu", FakeRun);
  ASSERT_THAT(first, IsOk());
  ServerOptions options = TestOptions();
  options.address = (*first)->address();
  auto second = ExplainerServer::StartWithRunner(options, FakeSpec(), "cpu", FakeRun);
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(second.status().message(),
            absl::StrCat("cannot listen on ", options.address,
                         ": the address is in use or is not a valid host:port"));
}

TEST(ExplainerServerStartTest, AddressWithoutPortIsRejected) {
  for (const char* address :
       {"127.0.0.1:", "localhost", "127.0.0.1:http", ":50051", "127.0.0.1:70000"}) {
    ServerOptions options = TestOptions();
    options.address = address;
    auto server = ExplainerServer::StartWithRunner(options, FakeSpec(), "cpu", FakeRun);
    EXPECT_EQ(server.status().code(), absl::StatusCode::kInvalidArgument) << address;
    EXPECT_EQ(server.status().message(),
              absl::StrCat("address \"", address,
                           "\" is not host:port (e.g. 127.0.0.1:50051, [::]:0)"));
  }
}

TEST_F(ExplainerServerTest, StreamAnswersEveryItemOnceBadOnesWithMessages) {
  Start();
  std::vector<v1::ExplainRequest> requests;
  for (int i = 0; i < 12; ++i) {
    requests.push_back(Request(absl::StrCat("ok-", i), PngBytes(20 + i, 30, 200)));
  }
  requests.push_back(Request("corrupt", PngBytes(40, 30).substr(0, 40)));
  requests.push_back(Request("empty", ""));
  requests.push_back(Request("text", "just some text"));
  v1::ExplainRequest bad_annotation = Request("bad-annotation", PngBytes(40, 30));
  bad_annotation.set_annotation_json(LabelMeJson(40, 30, {}, "hexagon"));
  requests.push_back(bad_annotation);
  v1::ExplainRequest bad_class = Request("bad-class", PngBytes(40, 30));
  bad_class.mutable_options()->set_target_class(3);
  requests.push_back(bad_class);
  v1::ExplainRequest bad_threshold = Request("bad-threshold", PngBytes(40, 30));
  bad_threshold.mutable_options()->add_iou_thresholds(2.0f);
  requests.push_back(bad_threshold);
  requests.push_back(Request("", PngBytes(40, 30)));

  grpc::Status status;
  std::vector<v1::ExplainResponse> responses = Stream(requests, &status);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(responses.size(), requests.size());
  std::map<std::string, v1::ExplainResponse> by_id;
  for (const v1::ExplainResponse& response : responses) {
    EXPECT_TRUE(by_id.emplace(response.request_id(), response).second)
        << "answered twice: " << response.request_id();
  }
  for (int i = 0; i < 12; ++i) {
    const v1::ExplainResponse& ok = by_id[absl::StrCat("ok-", i)];
    ASSERT_TRUE(ok.has_result()) << ok.DebugString();
    EXPECT_EQ(ok.result().predicted_name(), "Malignant");
    EXPECT_EQ(ok.result().original_width(), 20 + i);
  }
  auto error_of = [&](const std::string& id) { return by_id[id].error(); };
  EXPECT_EQ(error_of("corrupt").code(), 3);
  EXPECT_THAT(error_of("corrupt").message(),
              StartsWith("image: truncated or corrupt PNG"));
  EXPECT_EQ(error_of("empty").message(),
            "image: empty (the request carried no image bytes)");
  EXPECT_THAT(error_of("text").message(), StartsWith("image: not a supported image"));
  EXPECT_THAT(error_of("bad-annotation").message(),
              StartsWith("annotation_json: shapes[0].shape_type: unknown shape type "
                         "\"hexagon\""));
  EXPECT_THAT(error_of("bad-class").message(),
              StartsWith("options.target_class: 3 is out of range"));
  EXPECT_EQ(error_of("bad-threshold").message(),
            "options.iou_thresholds[0]: 2 is outside [0, 1]");
  EXPECT_EQ(error_of("").code(), 3);
  EXPECT_EQ(error_of("").message(),
            "request_id: empty; every request on an Explain stream needs an id that is "
            "unique within the stream");
  EXPECT_EQ(server_->items_in_flight(), 0);
}

TEST_F(ExplainerServerTest, DuplicateIdInFlightIsRejectedAndTheFirstStillAnswered) {
  Start();
  runner_.Hold();
  grpc::ClientContext context;
  SetDeadline(&context);
  auto stream = stub_->Explain(&context);
  ASSERT_TRUE(stream->Write(Request("a", PngBytes(40, 30))));
  ASSERT_TRUE(runner_.WaitHolding());  // "a" is inside the engine
  ASSERT_TRUE(stream->Write(Request("a", PngBytes(50, 30))));
  v1::ExplainResponse response;
  ASSERT_TRUE(stream->Read(&response));
  EXPECT_EQ(response.request_id(), "a");
  ASSERT_TRUE(response.has_error());
  EXPECT_EQ(response.error().code(), 6);  // ALREADY_EXISTS
  EXPECT_EQ(response.error().message(),
            "request_id: \"a\" is already in flight on this stream; ids must be unique "
            "within a stream");
  runner_.Release();
  ASSERT_TRUE(stream->Read(&response));
  EXPECT_EQ(response.request_id(), "a");
  ASSERT_TRUE(response.has_result());
  EXPECT_EQ(response.result().original_width(), 40);
  // Once answered, the id may be used again.
  ASSERT_TRUE(stream->Write(Request("a", PngBytes(60, 30))));
  ASSERT_TRUE(stream->Read(&response));
  ASSERT_TRUE(response.has_result());
  EXPECT_EQ(response.result().original_width(), 60);
  stream->WritesDone();
  EXPECT_FALSE(stream->Read(&response));
  EXPECT_TRUE(stream->Finish().ok());
}

TEST_F(ExplainerServerTest, WindowBoundsTheItemsAStreamHasInFlight) {
  ServerOptions options = TestOptions();
  options.stream_window = 4;
  Start(options);
  runner_.Hold();
  grpc::ClientContext context;
  SetDeadline(&context);
  auto stream = stub_->Explain(&context);
  for (int i = 0; i < 20; ++i) {  // small messages: all fit in HTTP/2's buffers
    ASSERT_TRUE(stream->Write(Request(absl::StrCat("r", i), PngBytes(30, 30))));
  }
  ASSERT_TRUE(runner_.WaitHolding());
  ASSERT_TRUE(Eventually([&] { return server_->items_in_flight() >= 4; }));
  // Give a broken window every chance to admit more.
  absl::SleepFor(absl::Milliseconds(200));
  EXPECT_EQ(server_->items_in_flight(), 4);
  runner_.Release();
  stream->WritesDone();
  int answered = 0;
  v1::ExplainResponse response;
  while (stream->Read(&response)) {
    EXPECT_TRUE(response.has_result()) << response.DebugString();
    ++answered;
  }
  EXPECT_TRUE(stream->Finish().ok());
  EXPECT_EQ(answered, 20);
}

TEST_F(ExplainerServerTest, ConcurrentStreamsShareBatches) {
  Start();
  runner_.Hold();
  // A third stream's item occupies the engine while two others queue up.
  grpc::ClientContext blocker_context;
  SetDeadline(&blocker_context);
  auto blocker = stub_->Explain(&blocker_context);
  ASSERT_TRUE(blocker->Write(Request("blocker", PngBytes(30, 30))));
  ASSERT_TRUE(runner_.WaitHolding());

  grpc::ClientContext context_a, context_b;
  SetDeadline(&context_a);
  SetDeadline(&context_b);
  auto a = stub_->Explain(&context_a);
  auto b = stub_->Explain(&context_b);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(a->Write(Request(absl::StrCat("a", i), PngBytes(30, 30, 250))));
    ASSERT_TRUE(b->Write(Request(absl::StrCat("b", i), PngBytes(30, 30, 5))));
  }
  ASSERT_TRUE(Eventually([&] { return server_->items_waiting_for_batch() == 6; }));
  runner_.Release();

  for (auto* stream : {a.get(), b.get(), blocker.get()}) stream->WritesDone();
  std::map<std::string, v1::ExplainResponse> by_id;
  for (auto* stream : {a.get(), b.get(), blocker.get()}) {
    v1::ExplainResponse response;
    while (stream->Read(&response)) by_id[response.request_id()] = response;
    EXPECT_TRUE(stream->Finish().ok());
  }
  ASSERT_EQ(by_id.size(), 7u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(by_id[absl::StrCat("a", i)].result().predicted_name(), "Malignant");
    EXPECT_EQ(by_id[absl::StrCat("b", i)].result().predicted_name(), "Normal");
    EXPECT_EQ(by_id[absl::StrCat("a", i)].result().timings().batch_size(), 6);
  }
  // Warm-up, the blocker, then one batch with both streams' items.
  EXPECT_THAT(runner_.batch_sizes(), ElementsAre(1, 1, 6));
}

TEST_F(ExplainerServerTest, UnaryAndStreamingGiveTheSameResult) {
  Start();
  v1::ExplainRequest request = Request("same", PngBytes(41, 29, 220));
  request.set_annotation_json(LabelMeJson(41, 29, {{"tumor", 2, 3, 20, 25}}));
  request.mutable_options()->set_return_raw_heatmap(true);
  request.mutable_options()->set_return_heatmap_png(true);
  request.mutable_options()->set_return_overlay_png(true);
  request.mutable_options()->set_overlay_image_weight(0.3f);
  request.mutable_options()->set_target_class(1);

  grpc::ClientContext context;
  SetDeadline(&context);
  v1::ExplainResponse unary;
  ASSERT_TRUE(stub_->ExplainImage(&context, request, &unary).ok());
  grpc::Status status;
  std::vector<v1::ExplainResponse> streamed = Stream({request}, &status);
  ASSERT_TRUE(status.ok());
  ASSERT_EQ(streamed.size(), 1u);

  ASSERT_TRUE(unary.has_result()) << unary.DebugString();
  EXPECT_EQ(unary.request_id(), "same");
  EXPECT_EQ(unary.result().explained_index(), 1);
  EXPECT_TRUE(unary.result().has_annotation());
  EXPECT_FALSE(unary.result().overlay_png().empty());
  v1::ExplainResult a = unary.result();
  v1::ExplainResult b = streamed[0].result();
  a.clear_timings();
  b.clear_timings();
  EXPECT_EQ(a.SerializeAsString(), b.SerializeAsString());
}

TEST_F(ExplainerServerTest, UnaryBadItemIsAnItemErrorNotAnRpcError) {
  Start();
  grpc::ClientContext context;
  SetDeadline(&context);
  v1::ExplainResponse response;
  const grpc::Status status =
      stub_->ExplainImage(&context, Request("", "not an image"), &response);
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(response.error().code(), 3);
  EXPECT_THAT(response.error().message(), StartsWith("image: not a supported image"));
}

TEST_F(ExplainerServerTest, GetModelInfo) {
  ServerOptions options = TestOptions();
  options.max_batch_size = 5;
  options.max_image_pixels = 12345;
  Start(options);
  grpc::ClientContext context;
  SetDeadline(&context);
  v1::ModelInfo info;
  ASSERT_TRUE(stub_->GetModelInfo(&context, v1::GetModelInfoRequest(), &info).ok());
  EXPECT_EQ(info.name(), "fake");
  EXPECT_EQ(info.version(), "1.0");
  EXPECT_THAT(info.class_names(), ElementsAre("Normal", "Benign", "Malignant"));
  EXPECT_EQ(info.input_width(), 16);
  EXPECT_EQ(info.input_height(), 16);
  EXPECT_THAT(info.mean(), ElementsAre(0.485f, 0.456f, 0.406f));
  EXPECT_THAT(info.std(), ElementsAre(0.229f, 0.224f, 0.225f));
  EXPECT_EQ(info.device(), "cpu");
  EXPECT_EQ(info.target_layer(), "fake.features");
  ASSERT_EQ(info.methods_size(), 10);  // every CAM method, by wire value
  EXPECT_EQ(info.methods(2), v1::CAM_METHOD_GRAD_CAM_PLUS_PLUS);
  EXPECT_EQ(info.method_info(2).name(), "grad-cam++");
  EXPECT_EQ(info.max_batch_size(), 5);
  EXPECT_EQ(info.max_image_pixels(), 12345);
}

TEST_F(ExplainerServerTest, MessageOverTheLimitFailsTheCall) {
  ServerOptions options = TestOptions();
  options.max_message_bytes = 1024 * 1024;
  Start(options);
  grpc::ClientContext context;
  SetDeadline(&context);
  v1::ExplainResponse response;
  const grpc::Status status = stub_->ExplainImage(
      &context, Request("big", std::string(2 * 1024 * 1024, 'x')), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(HealthStatus(channel_, "").value_or(-1), kServing);
}

TEST_F(ExplainerServerTest, AnswerOverTheMessageLimitIsAnItemErrorAndTheStreamGoesOn) {
  ServerOptions options = TestOptions();
  options.max_message_bytes = 1024;  // a 16x16 raw heatmap alone is over 1 KiB
  Start(options);
  v1::ExplainRequest big = Request("big", PngBytes(20, 20));
  big.mutable_options()->set_return_raw_heatmap(true);
  grpc::Status status;
  std::vector<v1::ExplainResponse> responses =
      Stream({big, Request("small", PngBytes(20, 20))}, &status);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(responses.size(), 2u);
  std::map<std::string, v1::ExplainResponse> by_id;
  for (const v1::ExplainResponse& response : responses)
    by_id[response.request_id()] = response;
  EXPECT_EQ(by_id["big"].error().code(), 8);
  EXPECT_THAT(by_id["big"].error().message(),
              StartsWith("response: 1"));  // 1xxx bytes
  EXPECT_THAT(by_id["big"].error().message(),
              ::testing::HasSubstr("over the server's message limit of 1024 bytes"));
  EXPECT_TRUE(by_id["small"].has_result());
}

TEST_F(ExplainerServerTest, CancelledStreamIsCleanedUpAndTheServerGoesOn) {
  Start();
  runner_.Hold();
  {
    grpc::ClientContext context;
    SetDeadline(&context);
    auto stream = stub_->Explain(&context);
    for (int i = 0; i < 5; ++i) {
      ASSERT_TRUE(stream->Write(Request(absl::StrCat("c", i), PngBytes(30, 30))));
    }
    ASSERT_TRUE(runner_.WaitHolding());
    context.TryCancel();
    EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::CANCELLED);
  }
  runner_.Release();  // the pipeline now answers a reactor whose call is gone
  ASSERT_TRUE(Eventually([&] { return server_->items_in_flight() == 0; }));

  grpc::ClientContext context;
  SetDeadline(&context);
  v1::ExplainResponse response;
  ASSERT_TRUE(
      stub_->ExplainImage(&context, Request("after", PngBytes(30, 30)), &response).ok());
  EXPECT_TRUE(response.has_result());
}

TEST_F(ExplainerServerTest, ShutdownEndsAnOpenStream) {
  ServerOptions options = TestOptions();
  options.shutdown_grace = absl::Milliseconds(100);
  Start(options);
  grpc::ClientContext context;
  SetDeadline(&context);
  auto stream = stub_->Explain(&context);
  ASSERT_TRUE(stream->Write(Request("x", PngBytes(30, 30))));
  v1::ExplainResponse response;
  ASSERT_TRUE(stream->Read(&response));
  EXPECT_TRUE(response.has_result());
  // The client never half-closes; shutdown must not wait for it forever.
  server_->Shutdown();
  EXPECT_FALSE(stream->Read(&response));
  EXPECT_FALSE(stream->Finish().ok());
  server_->Shutdown();  // idempotent
}

int Sum(const std::vector<int>& values) {
  int sum = 0;
  for (int v : values) sum += v;
  return sum;
}

// 100 items of one stream wait behind a busy engine; the client cancels. Apart from
// the batch already inside the engine, none of them may reach the engine.
TEST_F(ExplainerServerTest, CancelledStreamsQueuedItemsNeverReachTheEngine) {
  ServerOptions options = TestOptions();
  options.stream_window = 100;
  Start(options);
  runner_.Hold();
  grpc::ClientContext context;
  SetDeadline(&context);
  auto stream = stub_->Explain(&context);
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(stream->Write(Request(absl::StrCat("r", i), PngBytes(30, 30))));
  }
  ASSERT_TRUE(runner_.WaitHolding());
  const int held = runner_.batch_sizes().back();
  ASSERT_TRUE(
      Eventually([&] { return server_->items_waiting_for_batch() == 100 - held; }));
  const int ran_before = Sum(runner_.batch_sizes());
  context.TryCancel();
  EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::CANCELLED);
  // They leave (and give their admission back) while the engine is still busy.
  ASSERT_TRUE(Eventually(
      [&] { return server_->processor().cancelled_items() == 100 - held; }));
  ASSERT_TRUE(Eventually([&] { return server_->admission().items_in_flight() == held; }));
  runner_.Release();
  ASSERT_TRUE(Eventually([&] { return server_->items_in_flight() == 0; }));
  EXPECT_EQ(Sum(runner_.batch_sizes()), ran_before);
  // The held batch's items were cancelled inside the engine: not post-processed.
  EXPECT_EQ(server_->processor().cancelled_items(), 100);
  EXPECT_EQ(server_->admission().items_in_flight(), 0);
}

// A unary call whose deadline passes while its item waits for the engine: the item
// is dropped, not run.
TEST_F(ExplainerServerTest, UnaryPastItsDeadlineIsDroppedNotRun) {
  Start();
  runner_.Hold();
  grpc::ClientContext blocker_context;
  SetDeadline(&blocker_context);
  auto blocker = stub_->Explain(&blocker_context);
  ASSERT_TRUE(blocker->Write(Request("blocker", PngBytes(30, 30))));
  ASSERT_TRUE(runner_.WaitHolding());

  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(300));
  v1::ExplainResponse response;
  EXPECT_EQ(stub_->ExplainImage(&context, Request("late", PngBytes(30, 30)), &response)
                .error_code(),
            grpc::StatusCode::DEADLINE_EXCEEDED);
  // The server sees the deadline a moment after the client does (its timer starts when
  // the call arrives): release the engine only once the late item has left the queue.
  ASSERT_TRUE(Eventually([&] { return server_->processor().cancelled_items() == 1; }));
  runner_.Release();
  blocker->WritesDone();
  while (blocker->Read(&response)) {
  }
  EXPECT_TRUE(blocker->Finish().ok());
  ASSERT_TRUE(Eventually([&] { return server_->items_in_flight() == 0; }));
  // The warm-up and the blocker; never the late item.
  EXPECT_THAT(runner_.batch_sizes(), ElementsAre(1, 1));
  EXPECT_EQ(server_->processor().cancelled_items(), 1);
}

TEST_F(ExplainerServerTest, UnaryOverTheInflightLimitIsRefusedNamingTheLimit) {
  ServerOptions options = TestOptions();
  options.admission.max_inflight_items = 2;
  Start(options);
  runner_.Hold();
  std::vector<std::thread> callers;
  std::atomic<int> ok_results{0};
  for (int i = 0; i < 2; ++i) {
    callers.emplace_back([&, i] {
      grpc::ClientContext context;
      SetDeadline(&context);
      v1::ExplainResponse response;
      if (stub_->ExplainImage(&context, Request(absl::StrCat("u", i), PngBytes(30, 30)),
                              &response)
              .ok() &&
          response.has_result()) {
        ok_results.fetch_add(1);
      }
    });
  }
  ASSERT_TRUE(Eventually([&] { return server_->admission().items_in_flight() == 2; }));
  grpc::ClientContext context;
  SetDeadline(&context);
  v1::ExplainResponse response;
  const grpc::Status refused =
      stub_->ExplainImage(&context, Request("third", PngBytes(30, 30)), &response);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(refused.error_message(),
            "server busy: 2 items in flight, limit 2 (--max_inflight_items)");
  EXPECT_EQ(HealthStatus(channel_, "").value_or(-1), kServing);  // busy, not broken
  runner_.Release();
  for (std::thread& caller : callers) caller.join();
  EXPECT_EQ(ok_results.load(), 2);
}

TEST_F(ExplainerServerTest, UnaryOverTheMemoryLimitIsRefusedNamingTheLimit) {
  ServerOptions options = TestOptions();
  // One 20x20 item (about 5.4 KB estimated) fits, two do not.
  options.admission.max_inflight_bytes = 8000;
  Start(options);
  runner_.Hold();
  std::thread caller([&] {
    grpc::ClientContext context;
    SetDeadline(&context);
    v1::ExplainResponse response;
    EXPECT_TRUE(
        stub_->ExplainImage(&context, Request("first", PngBytes(20, 20)), &response).ok());
  });
  ASSERT_TRUE(Eventually([&] { return server_->admission().items_in_flight() == 1; }));
  grpc::ClientContext context;
  SetDeadline(&context);
  v1::ExplainResponse response;
  const grpc::Status refused =
      stub_->ExplainImage(&context, Request("second", PngBytes(20, 20)), &response);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(refused.error_message(), StartsWith("server busy: "));
  EXPECT_THAT(refused.error_message(),
              ::testing::EndsWith(" more, limit 8000 bytes (--max_inflight_mb)"));
  runner_.Release();
  caller.join();
}

// A stream that finds the server full is not failed: it stops being read until
// there is room, and every item is answered in the end.
TEST_F(ExplainerServerTest, FullServerPausesAStreamInsteadOfFailingIt) {
  ServerOptions options = TestOptions();
  options.admission.max_inflight_items = 3;
  Start(options);
  runner_.Hold();
  grpc::ClientContext context;
  SetDeadline(&context);
  auto stream = stub_->Explain(&context);
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(stream->Write(Request(absl::StrCat("r", i), PngBytes(30, 30))));
  }
  ASSERT_TRUE(runner_.WaitHolding());
  ASSERT_TRUE(Eventually([&] { return server_->admission().waiting() == 1; }));
  absl::SleepFor(absl::Milliseconds(200));  // every chance to admit more
  EXPECT_EQ(server_->items_in_flight(), 3);
  EXPECT_EQ(server_->admission().waiting(), 1);  // one read item parked, no more read
  runner_.Release();
  stream->WritesDone();
  int answered = 0;
  v1::ExplainResponse response;
  while (stream->Read(&response)) {
    EXPECT_TRUE(response.has_result()) << response.DebugString();
    ++answered;
  }
  EXPECT_TRUE(stream->Finish().ok());
  EXPECT_EQ(answered, 10);
  // The last slot is given back on the server's side of the final write, which may
  // land just after the client has seen the stream end (flaky under ASan otherwise).
  EXPECT_TRUE(Eventually([&] { return server_->admission().items_in_flight() == 0; }))
      << server_->admission().items_in_flight() << " admission slots still held";
}

// A stream cancelled while its read item waits for room withdraws it.
TEST_F(ExplainerServerTest, CancelledStreamWithdrawsItsWaitingItem) {
  ServerOptions options = TestOptions();
  options.admission.max_inflight_items = 1;
  Start(options);
  runner_.Hold();
  grpc::ClientContext context;
  SetDeadline(&context);
  auto stream = stub_->Explain(&context);
  ASSERT_TRUE(stream->Write(Request("a", PngBytes(30, 30))));
  ASSERT_TRUE(stream->Write(Request("b", PngBytes(30, 30))));
  ASSERT_TRUE(runner_.WaitHolding());
  ASSERT_TRUE(Eventually([&] { return server_->admission().waiting() == 1; }));
  context.TryCancel();
  EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::CANCELLED);
  ASSERT_TRUE(Eventually([&] { return server_->admission().waiting() == 0; }));
  runner_.Release();
  ASSERT_TRUE(Eventually([&] { return server_->items_in_flight() == 0; }));
  EXPECT_EQ(Sum(runner_.batch_sizes()), 2);  // warm-up and "a"
}

// The engine hangs with work waiting behind it: health NOT_SERVING for both names
// after the stall threshold, SERVING again once the engine finishes.
TEST_F(ExplainerServerTest, HealthIsNotServingWhileWorkIsStalled) {
  ServerOptions options = TestOptions();
  options.max_batch_size = 1;
  options.stall_threshold = absl::Milliseconds(200);
  Start(options);
  runner_.Hold();
  grpc::ClientContext context;
  SetDeadline(&context);
  auto stream = stub_->Explain(&context);
  ASSERT_TRUE(stream->Write(Request("stuck", PngBytes(30, 30))));
  ASSERT_TRUE(runner_.WaitHolding());
  EXPECT_EQ(HealthStatus(channel_, "").value_or(-1), kServing);  // nothing waits yet
  ASSERT_TRUE(stream->Write(Request("waiting", PngBytes(30, 30))));
  ASSERT_TRUE(Eventually([&] {
    return HealthStatus(channel_, "").value_or(-1) == kNotServing;
  }));
  EXPECT_EQ(HealthStatus(channel_, "explainer.v1.Explainer").value_or(-1), kNotServing);
  EXPECT_TRUE(server_->stalled());
  runner_.Release();
  ASSERT_TRUE(Eventually([&] {
    return HealthStatus(channel_, "").value_or(-1) == kServing &&
           HealthStatus(channel_, "explainer.v1.Explainer").value_or(-1) == kServing;
  }));
  stream->WritesDone();
  v1::ExplainResponse response;
  int answered = 0;
  while (stream->Read(&response)) ++answered;
  EXPECT_TRUE(stream->Finish().ok());
  EXPECT_EQ(answered, 2);
}

}  // namespace
}  // namespace explainer::server
