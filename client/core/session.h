// One command's conversation with the server, shared by every subcommand: the
// connected channel, the model info fetched once, the request options checked
// against that model, and the Explain streams with their window (one stream, or
// several under --lb=round_robin).
#ifndef EXPLAINER_CLIENT_CORE_SESSION_H_
#define EXPLAINER_CLIENT_CORE_SESSION_H_

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "client/options.h"
#include "client/streaming_explainer.h"
#include "explainer/v1/explainer.grpc.pb.h"
#include "grpcpp/channel.h"

namespace explainer::client {

// Streams items [0, count) with at most `window` requests in flight, each answered
// within connection.deadline and no larger than connection.max_message_bytes:
// over one stream, or spread over several when connection.lb_policy is
// round_robin (client/balanced_explainer.h). `on_answer` runs exactly once per
// item, never concurrently. For commands that hold their own stub (bench).
absl::Status RunExplainStream(explainer::v1::Explainer::StubInterface* stub,
                              const ConnectionOptions& connection, int window, size_t count,
                              const StreamingExplainer::RequestFactory& make_request,
                              const StreamingExplainer::AnswerCallback& on_answer);

class Session {
 public:
  // Connects (client/connection.h) and fetches the model info. The error's message
  // is the sentence to print (the server's address, what to do); its code is the
  // failed call's (UNAVAILABLE when unreachable).
  static absl::StatusOr<std::unique_ptr<Session>> Open(const ConnectionOptions& options);

  const ConnectionOptions& options() const { return options_; }
  const explainer::v1::ModelInfo& model() const { return model_; }
  const std::vector<std::string>& class_names() const { return class_names_; }
  explainer::v1::Explainer::Stub& stub() { return *stub_; }

  // The options every request of a run carries (method, smoothing, faithfulness,
  // target class, thresholds, overlay weight), checked against the model: the
  // method must be one the server offers and the target class one of its classes.
  // InvalidArgument naming the flag. The return_* outputs are the command's to set.
  absl::StatusOr<explainer::v1::ExplainOptions> RequestOptions(
      const ExplainSettings& settings) const;

  // RunExplainStream over this session's stub and connection options.
  absl::Status Stream(int window, size_t count,
                      const StreamingExplainer::RequestFactory& make_request,
                      const StreamingExplainer::AnswerCallback& on_answer);

  // One line for a failed call or stream (DescribeCallError).
  std::string DescribeError(const absl::Status& status) const;

 private:
  Session(const ConnectionOptions& options, std::shared_ptr<grpc::Channel> channel,
          explainer::v1::ModelInfo model);

  const ConnectionOptions options_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<explainer::v1::Explainer::Stub> stub_;
  const explainer::v1::ModelInfo model_;
  const std::vector<std::string> class_names_;
};

// What a streaming command starts with: its output folder (created), its session
// and the options every request carries; or, when one fails, the message to print
// and the exit status (kExitFailed: no output folder; kExitServer: not reached or
// no model info; kExitUsage: options the model refuses).
struct SessionStart {
  std::unique_ptr<Session> session;
  explainer::v1::ExplainOptions request_options;
  int exit_code = 0;
  std::string error;
};
SessionStart StartSession(const std::string& out_dir, const ConnectionOptions& connection,
                          const ExplainSettings& settings);

}  // namespace explainer::client

#endif  // EXPLAINER_CLIENT_CORE_SESSION_H_
