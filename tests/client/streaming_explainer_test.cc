// Tests of client/streaming_explainer against the scripted fake server: window,
// out-of-order answers, local errors, early end, silence.
#include "client/streaming_explainer.h"

#include <future>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/client/fake_explainer_service.h"
#include "tests/status_matchers.h"

namespace explainer::client {
namespace {

using ::explainer::testing::FakeBehaviour;
using ::explainer::testing::FakeServer;
using ::explainer::testing::IsOk;
using ::explainer::v1::ExplainRequest;
using ::testing::HasSubstr;

ExplainRequest Request(size_t index, const std::string& image = "") {
  ExplainRequest request;
  request.set_request_id(absl::StrCat("img-", index));
  request.set_image(image.empty() ? std::string(index + 1, 'x') : image);
  return request;
}

// Runs `count` items and returns the answers by index, checking exactly-once.
std::map<size_t, StreamAnswer> RunAll(StreamingExplainer& explainer, size_t count,
                                      const StreamingExplainer::RequestFactory& factory,
                                      absl::Status* status) {
  std::map<size_t, StreamAnswer> answers;
  *status = explainer.Run(count, factory, [&](StreamAnswer answer) {
    EXPECT_EQ(answers.count(answer.index), 0u) << "answered twice: " << answer.index;
    answers.emplace(answer.index, std::move(answer));
  });
  EXPECT_EQ(answers.size(), count);
  return answers;
}

TEST(StreamingExplainerTest, FillsButNeverExceedsTheWindowAndMatchesOutOfOrderAnswers) {
  constexpr int kWindow = 4;
  FakeServer server(FakeBehaviour{/*hold=*/kWindow});
  auto stub = server.NewStub();
  StreamingExplainer explainer(stub.get(), StreamOptions{kWindow, absl::Seconds(30)});
  absl::Status status;
  auto answers = RunAll(
      explainer, 10, [](size_t i) { return Request(i); }, &status);
  ASSERT_THAT(status, IsOk());
  // The fake holds answers until kWindow requests wait, then answers last first.
  EXPECT_EQ(server.service().max_outstanding(), kWindow);
  EXPECT_EQ(server.service().requests_seen(), 10);
  for (size_t i = 0; i < 10; ++i) {
    const StreamAnswer& answer = answers.at(i);
    ASSERT_THAT(answer.response, IsOk());
    EXPECT_TRUE(answer.sent);
    EXPECT_EQ(answer.response->request_id(), absl::StrCat("img-", i));
    EXPECT_EQ(answer.response->result().predicted_index(), static_cast<int>((i + 1) % 3));
  }
}

TEST(StreamingExplainerTest, WindowOfOneIsStrictlySequential) {
  FakeServer server;
  auto stub = server.NewStub();
  StreamingExplainer explainer(stub.get(), StreamOptions{1, absl::Seconds(30)});
  absl::Status status;
  RunAll(
      explainer, 5, [](size_t i) { return Request(i); }, &status);
  ASSERT_THAT(status, IsOk());
  EXPECT_EQ(server.service().max_outstanding(), 1);
}

TEST(StreamingExplainerTest, LocalErrorsAreAnsweredWithoutSending) {
  FakeServer server;
  auto stub = server.NewStub();
  StreamOptions options{8, absl::Seconds(30)};
  options.max_message_bytes = 1000;
  StreamingExplainer explainer(stub.get(), options);
  absl::Status status;
  auto answers = RunAll(
      explainer, 5,
      [](size_t i) -> absl::StatusOr<ExplainRequest> {
        if (i == 1) return absl::NotFoundError("cannot read b.png: No such file or directory");
        if (i == 2) return Request(i, std::string(5000, 'x'));  // over the limit
        if (i == 3) return Request(0);                          // id of item 0 again
        if (i == 4) return Request(i, "bad bytes");
        return Request(i);
      },
      &status);
  ASSERT_THAT(status, IsOk());
  EXPECT_THAT(answers.at(0).response, IsOk());
  EXPECT_EQ(answers.at(1).response.status().code(), absl::StatusCode::kNotFound);
  EXPECT_FALSE(answers.at(1).sent);
  EXPECT_EQ(answers.at(2).response.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(answers.at(2).response.status().message(),
              HasSubstr("over the 1000-byte message limit (raise the client's --max-message-mb"));
  // Item 0 may or may not still be in flight when item 3 comes: either the
  // duplicate is refused locally, or it is sent and answered.
  if (!answers.at(3).response.ok()) {
    EXPECT_THAT(answers.at(3).response.status().message(),
                HasSubstr("request_id 'img-0' is already in flight"));
  }
  // A server-side per-item error is a normal answer.
  ASSERT_TRUE(answers.at(4).response.ok());
  EXPECT_EQ(answers.at(4).response->error().code(), 3);
  EXPECT_THAT(answers.at(4).response->error().message(), HasSubstr("cannot decode"));
}

TEST(StreamingExplainerTest, EmptyIdsBecomeIndices) {
  FakeServer server;
  auto stub = server.NewStub();
  StreamingExplainer explainer(stub.get(), StreamOptions{2, absl::Seconds(30)});
  absl::Status status;
  auto answers = RunAll(
      explainer, 3,
      [](size_t i) {
        ExplainRequest request = Request(i);
        request.clear_request_id();
        return absl::StatusOr<ExplainRequest>(request);
      },
      &status);
  ASSERT_THAT(status, IsOk());
  EXPECT_EQ(answers.at(2).response->request_id(), "2");
}

TEST(StreamingExplainerTest, StreamEndingEarlyAnswersTheRestWithAnError) {
  FakeServer server(FakeBehaviour{/*hold=*/5, /*stop_after=*/2});
  auto stub = server.NewStub();
  StreamingExplainer explainer(stub.get(), StreamOptions{16, absl::Seconds(30)});
  absl::Status status;
  auto answers = RunAll(
      explainer, 5, [](size_t i) { return Request(i); }, &status);
  EXPECT_EQ(status.code(), absl::StatusCode::kInternal);
  EXPECT_THAT(status.message(),
              HasSubstr("the server closed the stream without answering 3 request(s)"));
  int failed = 0;
  for (const auto& [index, answer] : answers) {
    if (!answer.response.ok()) {
      ++failed;
      EXPECT_TRUE(answer.sent);
      EXPECT_THAT(answer.response.status().message(), HasSubstr("no answer: "));
    }
  }
  EXPECT_EQ(failed, 3);
}

TEST(StreamingExplainerTest, SilentServerHitsTheAnswerTimeout) {
  FakeServer server(FakeBehaviour{/*hold=*/1, /*stop_after=*/-1, /*silent=*/true});
  auto stub = server.NewStub();
  StreamingExplainer explainer(stub.get(), StreamOptions{2, absl::Milliseconds(300)});
  absl::Status status;
  auto answers = RunAll(
      explainer, 4, [](size_t i) { return Request(i); }, &status);
  EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(status.message(), HasSubstr("within 300ms"));
  for (const auto& [index, answer] : answers) {
    EXPECT_EQ(answer.response.status().code(), absl::StatusCode::kDeadlineExceeded);
    // Two went out (the window); the other two were never sent.
    EXPECT_THAT(answer.response.status().message(),
                HasSubstr(index < 2 ? "no answer: " : "not sent: the stream ended"));
  }
}

// Runs `count` items on another thread and waits at most `limit` for Run to
// return. When it does not, the server is shut down (ending the call from its
// side, so that the test can finish) and the run is reported as hung.
struct BoundedRun {
  bool returned = false;
  absl::Duration took;
  absl::Status status;
  std::map<size_t, StreamAnswer> answers;
};
BoundedRun RunWithin(absl::Duration limit, FakeServer& server, StreamingExplainer& explainer,
                     size_t count) {
  BoundedRun run;
  const absl::Time start = absl::Now();
  auto done = std::async(std::launch::async, [&] {
    run.status = explainer.Run(
        count, [](size_t i) { return absl::StatusOr<ExplainRequest>(Request(i)); },
        [&](StreamAnswer answer) { run.answers.emplace(answer.index, std::move(answer)); });
  });
  run.returned = done.wait_for(absl::ToChronoSeconds(limit)) == std::future_status::ready;
  run.took = absl::Now() - start;
  if (!run.returned) server.Shutdown();
  done.wait();
  EXPECT_EQ(run.answers.size(), count);
  return run;
}

TEST(StreamingExplainerTest, UnparseableAnswerCancelsTheCallAndKeepsEarlierAnswers) {
  // The third answer has invalid UTF-8 in a proto3 string; the server then keeps
  // the call open. The client must not wait for it: cancel, finish, report.
  FakeBehaviour behaviour;
  behaviour.garble_answer = 2;
  behaviour.hold_open = true;
  FakeServer server(behaviour);
  auto stub = server.NewStub();
  StreamingExplainer explainer(stub.get(), StreamOptions{1, absl::Seconds(30)});
  const BoundedRun run = RunWithin(absl::Seconds(10), server, explainer, 5);
  ASSERT_TRUE(run.returned) << "Run hung after an unparseable answer";
  EXPECT_LT(run.took, absl::Seconds(5));  // not the 30 s answer timeout
  EXPECT_EQ(run.status.code(), absl::StatusCode::kDataLoss) << run.status;
  EXPECT_THAT(run.status.message(),
              HasSubstr("reading the server's answers failed with 1 request(s) unanswered: the "
                        "next message on the stream was not a valid ExplainResponse (e.g. "
                        "invalid UTF-8 in a string field)"));
  // Window 1: items 0 and 1 were answered before; 2 was sent, 3 and 4 were not.
  for (size_t i : {0, 1}) {
    ASSERT_TRUE(run.answers.at(i).response.ok()) << run.answers.at(i).response.status();
    EXPECT_EQ(run.answers.at(i).response->request_id(), absl::StrCat("img-", i));
  }
  EXPECT_THAT(std::string(run.answers.at(2).response.status().message()),
              HasSubstr("no answer: reading the server's answers failed"));
  EXPECT_THAT(std::string(run.answers.at(4).response.status().message()),
              HasSubstr("not sent: the stream ended: reading the server's answers failed"));
}

TEST(StreamingExplainerTest, ServerThatNeverEndsTheCallHitsTheAnswerTimeout) {
  // Every request is answered, but the server never ends the call.
  FakeBehaviour behaviour;
  behaviour.hold_open = true;
  FakeServer server(behaviour);
  auto stub = server.NewStub();
  StreamingExplainer explainer(stub.get(), StreamOptions{2, absl::Milliseconds(300)});
  const BoundedRun run = RunWithin(absl::Seconds(10), server, explainer, 3);
  ASSERT_TRUE(run.returned) << "Run ignored the answer timeout";
  EXPECT_EQ(run.status.code(), absl::StatusCode::kDeadlineExceeded) << run.status;
  EXPECT_THAT(run.status.message(),
              HasSubstr("the server answered every request but did not end the stream within "
                        "300ms"));
  for (const auto& [index, answer] : run.answers) {
    EXPECT_TRUE(answer.response.ok()) << index << ": " << answer.response.status();
  }
}

TEST(StreamingExplainerTest, UnreachableServerFailsEveryItem) {
  // A port nobody listens on: the stream fails at once with UNAVAILABLE.
  auto stub = explainer::v1::Explainer::NewStub(
      grpc::CreateChannel("127.0.0.1:1", grpc::InsecureChannelCredentials()));
  StreamingExplainer explainer(stub.get(), StreamOptions{4, absl::Seconds(30)});
  absl::Status status;
  auto answers = RunAll(
      explainer, 3, [](size_t i) { return Request(i); }, &status);
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  for (const auto& [index, answer] : answers) {
    EXPECT_EQ(answer.response.status().code(), absl::StatusCode::kUnavailable);
  }
}

TEST(StreamingExplainerTest, ZeroItemsIsANoOp) {
  StreamingExplainer explainer(nullptr, StreamOptions{});
  EXPECT_THAT(explainer.Run(0, nullptr, nullptr), IsOk());
}

}  // namespace
}  // namespace explainer::client
