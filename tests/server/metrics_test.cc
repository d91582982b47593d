// Metrics: labels and refusal reasons, the text exposition, and /metrics scraped over
// HTTP (a plain socket GET, as Prometheus would) from a real gRPC server under load.
#include "service/server/metrics.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/blocking_counter.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "explainer/v1/explainer.grpc.pb.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "service/server/explainer_server.h"
#include "service/server/server_options.h"
#include "tests/server/test_support.h"
#include "tests/status_matchers.h"

namespace explainer::server {
namespace {

using ::explainer::testing::IsOk;
using ::explainer::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::Not;

// GET http://127.0.0.1:<port><path>: the body, or the error. HTTP/1.0, so the
// server closes the connection after the answer.
absl::StatusOr<std::string> HttpGet(int port, const std::string& path) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return absl::InternalError("socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return absl::UnavailableError(absl::StrCat("connect to port ", port));
  }
  const std::string request = absl::StrCat("GET ", path, " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
  if (send(fd, request.data(), request.size(), 0) != static_cast<ssize_t>(request.size())) {
    close(fd);
    return absl::InternalError("send");
  }
  std::string response;
  char buffer[4096];
  ssize_t n;
  while ((n = recv(fd, buffer, sizeof(buffer), 0)) > 0) response.append(buffer, n);
  close(fd);
  const size_t body = response.find("\r\n\r\n");
  if (response.rfind("HTTP/1.", 0) != 0 || body == std::string::npos) {
    return absl::InternalError(absl::StrCat("not an HTTP answer: ", response.substr(0, 80)));
  }
  if (response.find(" 200 ") == std::string::npos) {
    return absl::InternalError(response.substr(0, response.find("\r\n")));
  }
  return response.substr(body + 4);
}

// The value of the sample `series` (name{labels} exactly as exposed), or -1.
double Sample(const std::string& text, const std::string& series) {
  const std::string prefix = series + " ";
  for (size_t at = 0; at < text.size();) {
    size_t end = text.find('\n', at);
    if (end == std::string::npos) end = text.size();
    const std::string line = text.substr(at, end - at);
    if (line.rfind(prefix, 0) == 0) {
      double value = 0;
      if (absl::SimpleAtod(line.substr(prefix.size()), &value)) return value;
    }
    at = end + 1;
  }
  return -1;
}

TEST(MetricsLabelsTest, RpcLabelIsShortForExplainerAndServiceMethodOtherwise) {
  EXPECT_EQ(Metrics::RpcLabel("/explainer.v1.Explainer/Explain"), "Explain");
  EXPECT_EQ(Metrics::RpcLabel("/explainer.v1.Explainer/ExplainImage"), "ExplainImage");
  EXPECT_EQ(Metrics::RpcLabel("/grpc.health.v1.Health/Check"), "grpc.health.v1.Health/Check");
  EXPECT_EQ(Metrics::RpcLabel(""), "unknown");
}

TEST(MetricsLabelsTest, RefusalReasonNamesTheAdmissionLimitOrAuth) {
  EXPECT_EQ(Metrics::RefusalReason(
                grpc::StatusCode::RESOURCE_EXHAUSTED,
                "server busy: 256 items in flight, limit 256 (--max_inflight_items)"),
            "max_inflight_items");
  EXPECT_EQ(Metrics::RefusalReason(grpc::StatusCode::RESOURCE_EXHAUSTED,
                                   "server busy: ... limit 5 bytes (--max_inflight_mb)"),
            "max_inflight_mb");
  EXPECT_EQ(Metrics::RefusalReason(grpc::StatusCode::RESOURCE_EXHAUSTED,
                                   "server busy: 4 Explain streams open, limit 4 (--max_streams)"),
            "max_streams");
  EXPECT_EQ(Metrics::RefusalReason(grpc::StatusCode::RESOURCE_EXHAUSTED, "other"),
            "resource_exhausted");
  EXPECT_EQ(Metrics::RefusalReason(grpc::StatusCode::UNAUTHENTICATED, ""),
            "unauthenticated");
  EXPECT_EQ(Metrics::RefusalReason(grpc::StatusCode::INVALID_ARGUMENT, "bad"), "");
  EXPECT_EQ(Metrics::RefusalReason(grpc::StatusCode::OK, ""), "");
}

TEST(MetricsTest, RecordsItemsCallsStagesAndBatches) {
  if (!MetricsAvailable()) GTEST_SKIP() << "built without prometheus-cpp";
  absl::StatusOr<std::unique_ptr<Metrics>> metrics = Metrics::Create({});
  ASSERT_THAT(metrics, IsOk());
  EXPECT_EQ((*metrics)->port(), 0);

  v1::ExplainResponse ok;
  v1::StageTimings* t = ok.mutable_result()->mutable_timings();
  t->set_decode_ms(2);
  t->set_inference_ms(40);
  t->set_total_ms(3000);
  v1::ExplainResponse bad;
  bad.mutable_error()->set_code(3);  // INVALID_ARGUMENT
  (*metrics)->RecordItem("Explain", ok);
  (*metrics)->RecordItem("Explain", ok);
  (*metrics)->RecordItem("Explain", bad);
  (*metrics)->RecordCall("ExplainImage", grpc::StatusCode::RESOURCE_EXHAUSTED,
                         "server busy: 9 items in flight, limit 9 (--max_inflight_items)");
  (*metrics)->CallStarted("Explain");
  (*metrics)->SetModelInfo("demo", "1.2", "cpu");
  (*metrics)->SetStateSource([] { return ServerState{7, 9}; });
  Metrics::BatchRunner runner = (*metrics)->WrapRunner(testing::FakeRun);
  const common::ModelInput wrong_size;  // 0x0: FakeRun fails the batch
  std::vector<engine::EngineItem> three(3);
  for (engine::EngineItem& item : three) item.input = &wrong_size;
  EXPECT_FALSE(runner(three).ok());

  const std::string text = (*metrics)->Scrape();
  EXPECT_EQ(Sample(text, R"(explainer_items_total{code="OK",rpc="Explain"})"), 2) << text;
  EXPECT_EQ(Sample(text, R"(explainer_items_total{code="INVALID_ARGUMENT",rpc="Explain"})"), 1);
  EXPECT_EQ(Sample(text, R"(explainer_calls_total{code="RESOURCE_EXHAUSTED",rpc="ExplainImage"})"), 1);
  EXPECT_EQ(Sample(text, R"(explainer_refused_calls_total{reason="max_inflight_items",rpc="ExplainImage"})"), 1);
  EXPECT_EQ(Sample(text, R"(explainer_calls_in_flight{rpc="Explain"})"), 1);
  // Only results have timings: 2 observations; decode 2 ms is in the 2.5 ms bucket,
  // total 3 s only from 5 s on.
  EXPECT_EQ(Sample(text, R"(explainer_stage_duration_seconds_count{stage="decode"})"), 2);
  EXPECT_EQ(Sample(text, R"(explainer_stage_duration_seconds_bucket{stage="decode",le="0.0025"})"), 2);
  EXPECT_EQ(Sample(text, R"(explainer_stage_duration_seconds_bucket{stage="decode",le="0.001"})"), 0);
  EXPECT_EQ(Sample(text, R"(explainer_stage_duration_seconds_bucket{stage="total",le="2.5"})"), 0);
  EXPECT_EQ(Sample(text, R"(explainer_stage_duration_seconds_bucket{stage="total",le="5"})"), 2);
  EXPECT_EQ(Sample(text, R"(explainer_batch_size_count)"), 1);
  EXPECT_EQ(Sample(text, R"(explainer_batch_size_sum)"), 3);
  EXPECT_EQ(Sample(text, R"(explainer_batch_errors_total)"), 1);
  EXPECT_EQ(Sample(text, R"(explainer_model_info{device="cpu",name="demo",version="1.2"})"), 1);
  EXPECT_EQ(Sample(text, "explainer_queue_depth"), 7);
  EXPECT_EQ(Sample(text, "explainer_items_in_flight"), 9);
  EXPECT_GT(Sample(text, "process_resident_memory_bytes"), 1e6);
  EXPECT_GE(Sample(text, "process_cpu_seconds_total"), 0);
  // No CUDA source: no CUDA series.
  EXPECT_THAT(text, Not(HasSubstr("explainer_cuda_memory")));

  (*metrics)->SetDeviceMemorySource([] { return std::optional<DeviceMemory>({100, 300}); });
  const std::string with_cuda = (*metrics)->Scrape();
  EXPECT_EQ(Sample(with_cuda, R"(explainer_cuda_memory_allocated_bytes{device="cpu"})"), 100);
  EXPECT_EQ(Sample(with_cuda, R"(explainer_cuda_memory_reserved_bytes{device="cpu"})"), 300);
  (*metrics)->ClearSources();
  const std::string cleared = (*metrics)->Scrape();
  EXPECT_THAT(cleared, Not(HasSubstr("explainer_queue_depth")));
  EXPECT_THAT(cleared, Not(HasSubstr("explainer_cuda_memory")));
}

TEST(MetricsTest, AnAddressInUseIsRefusedNamingIt) {
  if (!MetricsAvailable()) GTEST_SKIP() << "built without prometheus-cpp";
  MetricsOptions options;
  options.address = "127.0.0.1:0";
  absl::StatusOr<std::unique_ptr<Metrics>> first = Metrics::Create(options);
  ASSERT_THAT(first, IsOk());
  ASSERT_GT((*first)->port(), 0);
  options.address = absl::StrCat("127.0.0.1:", (*first)->port());
  absl::StatusOr<std::unique_ptr<Metrics>> second = Metrics::Create(options);
  ASSERT_THAT(
      second,
      StatusIs(absl::StatusCode::kUnavailable,
               HasSubstr(absl::StrCat("cannot serve metrics on 127.0.0.1:", (*first)->port()))));
}

TEST(MetricsTest, BuildWithoutPrometheusRefusesMetrics) {
  if (MetricsAvailable()) GTEST_SKIP() << "built with prometheus-cpp";
  absl::StatusOr<std::unique_ptr<Metrics>> metrics = Metrics::Create({});
  ASSERT_FALSE(metrics.ok());
  EXPECT_THAT(std::string(metrics.status().message()), HasSubstr("prometheus-cpp"));
}

// A real server (fake engine) with metrics, driven over gRPC; /metrics over HTTP.
TEST(MetricsServerTest, ScrapeOverHttpShowsTheServerMoving) {
  if (!MetricsAvailable()) GTEST_SKIP() << "built without prometheus-cpp";
  MetricsOptions metrics_options;
  metrics_options.address = "127.0.0.1:0";
  absl::StatusOr<std::unique_ptr<Metrics>> metrics = Metrics::Create(metrics_options);
  ASSERT_THAT(metrics, IsOk());
  ServerOptions options;
  options.address = "127.0.0.1:0";
  options.workers = 2;
  options.max_batch_size = 4;
  options.metrics = metrics->get();
  absl::StatusOr<std::unique_ptr<ExplainerServer>> server = ExplainerServer::StartWithRunner(
      options, testing::FakeSpec(), "cpu", testing::FakeRun);
  ASSERT_THAT(server, IsOk());
  (*metrics)->SetModelInfo("fake", "0", "cpu");

  absl::StatusOr<std::string> before = HttpGet((*metrics)->port(), "/metrics");
  ASSERT_THAT(before, IsOk());
  // The warm-up batch went through the wrapped runner.
  EXPECT_EQ(Sample(*before, "explainer_batch_size_count"), 1) << *before;
  EXPECT_EQ(Sample(*before, R"(explainer_items_total{code="OK",rpc="ExplainImage"})"), 0);

  auto channel = grpc::CreateChannel((*server)->address(), grpc::InsecureChannelCredentials());
  auto stub = v1::Explainer::NewStub(channel);
  for (int i = 0; i < 3; ++i) {
    grpc::ClientContext context;
    v1::ExplainRequest request;
    request.set_request_id(absl::StrCat("u", i));
    request.set_image(testing::PngBytes(20, 20));
    v1::ExplainResponse response;
    ASSERT_TRUE(stub->ExplainImage(&context, request, &response).ok());
  }
  {  // One stream: 4 good images and one that does not decode.
    grpc::ClientContext context;
    auto stream = stub->Explain(&context);
    for (int i = 0; i < 5; ++i) {
      v1::ExplainRequest request;
      request.set_request_id(absl::StrCat("s", i));
      request.set_image(i == 4 ? std::string("not an image") : testing::PngBytes(20, 20));
      ASSERT_TRUE(stream->Write(request));
    }
    stream->WritesDone();
    v1::ExplainResponse response;
    int answers = 0;
    while (stream->Read(&response)) ++answers;
    EXPECT_EQ(answers, 5);
    ASSERT_TRUE(stream->Finish().ok());
  }
  EXPECT_EQ(testing::HealthStatus(channel, "").value_or(-1), 1);

  absl::StatusOr<std::string> after = HttpGet((*metrics)->port(), "/metrics");
  ASSERT_THAT(after, IsOk());
  const std::string& text = *after;
  EXPECT_EQ(Sample(text, R"(explainer_items_total{code="OK",rpc="ExplainImage"})"), 3) << text;
  EXPECT_EQ(Sample(text, R"(explainer_items_total{code="OK",rpc="Explain"})"), 4);
  EXPECT_EQ(Sample(text, R"(explainer_items_total{code="INVALID_ARGUMENT",rpc="Explain"})"), 1);
  EXPECT_EQ(Sample(text, R"(explainer_calls_total{code="OK",rpc="ExplainImage"})"), 3);
  EXPECT_EQ(Sample(text, R"(explainer_calls_total{code="OK",rpc="Explain"})"), 1);
  EXPECT_EQ(Sample(text, R"(explainer_calls_total{code="OK",rpc="grpc.health.v1.Health/Check"})"), 1);
  EXPECT_EQ(Sample(text, R"(explainer_calls_in_flight{rpc="Explain"})"), 0);
  for (const char* stage : {"decode", "preprocess", "queue", "inference", "postprocess", "total"}) {
    EXPECT_EQ(Sample(text, absl::StrCat(R"(explainer_stage_duration_seconds_count{stage=")",
                                        stage, R"("})")),
              7)
        << stage;
  }
  // Warm-up + at least one batch per unary call; the stream's 4 good items in >= 1.
  EXPECT_GE(Sample(text, "explainer_batch_size_count"), 5);
  EXPECT_EQ(Sample(text, "explainer_batch_size_sum"), 8);
  EXPECT_EQ(Sample(text, "explainer_queue_depth"), 0);
  EXPECT_EQ(Sample(text, "explainer_items_in_flight"), 0);
  EXPECT_EQ(Sample(text, R"(explainer_model_info{device="cpu",name="fake",version="0"})"), 1);
  EXPECT_GT(Sample(text, "process_cpu_seconds_total"), 0);
  EXPECT_GT(Sample(text, "process_resident_memory_bytes"), 0);

  absl::StatusOr<std::string> missing = HttpGet((*metrics)->port(), "/nothing");
  EXPECT_FALSE(missing.ok());

  (*server)->Shutdown();
  server->reset();  // clears the state source
  const std::string later = (*metrics)->Scrape();
  EXPECT_THAT(later, Not(HasSubstr("explainer_queue_depth")));
}

// Under load: the gauges show work waiting while the engine is held.
TEST(MetricsServerTest, GaugesShowWorkWaitingUnderLoad) {
  if (!MetricsAvailable()) GTEST_SKIP() << "built without prometheus-cpp";
  MetricsOptions metrics_options;
  metrics_options.address = "127.0.0.1:0";
  absl::StatusOr<std::unique_ptr<Metrics>> metrics = Metrics::Create(metrics_options);
  ASSERT_THAT(metrics, IsOk());
  // The engine blocks (after the warm-up batch) until released.
  absl::Notification release;
  std::atomic<int> batches{0};
  Metrics::BatchRunner runner = [&](absl::Span<const engine::EngineItem> batch) {
    if (batches++ > 0) release.WaitForNotification();
    return testing::FakeRun(batch);
  };
  ServerOptions options;
  options.address = "127.0.0.1:0";
  options.workers = 2;
  options.max_batch_size = 1;
  options.batch_delay = absl::ZeroDuration();
  options.metrics = metrics->get();
  absl::StatusOr<std::unique_ptr<ExplainerServer>> server =
      ExplainerServer::StartWithRunner(options, testing::FakeSpec(), "cpu", runner);
  ASSERT_THAT(server, IsOk());

  auto channel = grpc::CreateChannel((*server)->address(), grpc::InsecureChannelCredentials());
  auto stub = v1::Explainer::NewStub(channel);
  constexpr int kCalls = 3;
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
  std::vector<v1::ExplainRequest> requests(kCalls);
  std::vector<v1::ExplainResponse> responses(kCalls);
  std::vector<grpc::Status> statuses(kCalls);
  absl::BlockingCounter done(kCalls);
  for (int i = 0; i < kCalls; ++i) {
    contexts.push_back(std::make_unique<grpc::ClientContext>());
    requests[i].set_request_id(absl::StrCat("held", i));
    requests[i].set_image(testing::PngBytes(20, 20));
    stub->async()->ExplainImage(contexts[i].get(), &requests[i], &responses[i],
                                [&, i](grpc::Status status) {
                                  statuses[i] = std::move(status);
                                  done.DecrementCount();
                                });
  }
  // One item runs (held), the other two wait for a batch.
  std::string text;
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (absl::Now() < deadline) {
    absl::StatusOr<std::string> scraped = HttpGet((*metrics)->port(), "/metrics");
    ASSERT_THAT(scraped, IsOk());
    text = *scraped;
    if (Sample(text, "explainer_queue_depth") == kCalls - 1) break;
    absl::SleepFor(absl::Milliseconds(20));
  }
  EXPECT_EQ(Sample(text, "explainer_queue_depth"), kCalls - 1) << text;
  EXPECT_EQ(Sample(text, "explainer_items_in_flight"), kCalls);
  EXPECT_EQ(Sample(text, R"(explainer_calls_in_flight{rpc="ExplainImage"})"), kCalls);
  EXPECT_EQ(Sample(text, R"(explainer_items_total{code="OK",rpc="ExplainImage"})"), 0);

  release.Notify();
  done.Wait();
  for (const grpc::Status& status : statuses) EXPECT_TRUE(status.ok()) << status.error_message();
  absl::StatusOr<std::string> after = HttpGet((*metrics)->port(), "/metrics");
  ASSERT_THAT(after, IsOk());
  EXPECT_EQ(Sample(*after, "explainer_queue_depth"), 0);
  EXPECT_EQ(Sample(*after, "explainer_items_in_flight"), 0);
  EXPECT_EQ(Sample(*after, R"(explainer_items_total{code="OK",rpc="ExplainImage"})"), kCalls);
  // Warm-up + one batch per item (max_batch_size 1).
  EXPECT_EQ(Sample(*after, R"(explainer_batch_size_count)"), 1 + kCalls);
}

// A unary call refused by the real admission is counted with the limit as reason.
TEST(MetricsServerTest, AdmissionRefusalIsCountedByReason) {
  if (!MetricsAvailable()) GTEST_SKIP() << "built without prometheus-cpp";
  absl::StatusOr<std::unique_ptr<Metrics>> metrics = Metrics::Create({});
  ASSERT_THAT(metrics, IsOk());
  absl::Notification release;
  std::atomic<int> batches{0};
  Metrics::BatchRunner runner = [&](absl::Span<const engine::EngineItem> batch) {
    if (batches++ > 0) release.WaitForNotification();
    return testing::FakeRun(batch);
  };
  ServerOptions options;
  options.address = "127.0.0.1:0";
  options.workers = 1;
  options.admission.max_inflight_items = 1;
  options.metrics = metrics->get();
  absl::StatusOr<std::unique_ptr<ExplainerServer>> server =
      ExplainerServer::StartWithRunner(options, testing::FakeSpec(), "cpu", runner);
  ASSERT_THAT(server, IsOk());
  auto stub = v1::Explainer::NewStub(
      grpc::CreateChannel((*server)->address(), grpc::InsecureChannelCredentials()));

  grpc::ClientContext held_context;
  v1::ExplainRequest held_request;
  held_request.set_request_id("held");
  held_request.set_image(testing::PngBytes(20, 20));
  v1::ExplainResponse held_response;
  absl::Notification held_done;
  stub->async()->ExplainImage(&held_context, &held_request, &held_response,
                              [&](grpc::Status) { held_done.Notify(); });
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while ((*server)->items_in_flight() < 1 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  grpc::ClientContext context;
  v1::ExplainRequest request;
  request.set_request_id("refused");
  request.set_image(testing::PngBytes(20, 20));
  v1::ExplainResponse response;
  const grpc::Status status = stub->ExplainImage(&context, request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << status.error_message();
  release.Notify();
  held_done.WaitForNotification();

  const std::string text = (*metrics)->Scrape();
  EXPECT_EQ(Sample(text, R"(explainer_refused_calls_total{reason="max_inflight_items",rpc="ExplainImage"})"), 1) << text;
  EXPECT_EQ(Sample(text, R"(explainer_calls_total{code="RESOURCE_EXHAUSTED",rpc="ExplainImage"})"), 1);
  EXPECT_EQ(Sample(text, R"(explainer_calls_total{code="OK",rpc="ExplainImage"})"), 1);
}

}  // namespace
}  // namespace explainer::server
