// See session.h.
#include "client/core/session.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "client/balanced_explainer.h"
#include "client/connection.h"
#include "client/exit_codes.h"
#include "client/file_io.h"

namespace explainer::client {

absl::Status RunExplainStream(explainer::v1::Explainer::StubInterface* stub,
                              const ConnectionOptions& connection, int window, size_t count,
                              const StreamingExplainer::RequestFactory& make_request,
                              const StreamingExplainer::AnswerCallback& on_answer) {
  const StreamOptions stream{window, connection.deadline, connection.max_message_bytes};
  if (connection.lb_policy == "round_robin") {
    return RunBalanced(stub, stream, BalanceOptions{}, count, make_request, on_answer);
  }
  return StreamingExplainer(stub, stream).Run(count, make_request, on_answer);
}

Session::Session(const ConnectionOptions& options, std::shared_ptr<grpc::Channel> channel,
                 explainer::v1::ModelInfo model)
    : options_(options),
      channel_(std::move(channel)),
      stub_(explainer::v1::Explainer::NewStub(channel_)),
      model_(std::move(model)),
      class_names_(model_.class_names().begin(), model_.class_names().end()) {}

absl::StatusOr<std::unique_ptr<Session>> Session::Open(const ConnectionOptions& options) {
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = Connect(options);
  if (!channel.ok()) return channel.status();
  std::unique_ptr<explainer::v1::Explainer::Stub> stub =
      explainer::v1::Explainer::NewStub(*channel);
  absl::StatusOr<explainer::v1::ModelInfo> model = FetchModelInfo(*stub, options);
  if (!model.ok()) {
    return absl::Status(model.status().code(), DescribeCallError(model.status(), options));
  }
  return std::unique_ptr<Session>(new Session(options, *std::move(channel), *std::move(model)));
}

absl::StatusOr<explainer::v1::ExplainOptions> Session::RequestOptions(
    const ExplainSettings& settings) const {
  explainer::v1::ExplainOptions request;
  if (settings.target_class) {
    absl::StatusOr<int> index = ResolveTargetClass(*settings.target_class, class_names_);
    if (!index.ok()) return index.status();
    request.set_target_class(*index);
  }
  if (model_.methods_size() > 0 && std::find(model_.methods().begin(), model_.methods().end(),
                                             settings.method) == model_.methods().end()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--method: the server does not offer ", CamMethodName(settings.method)));
  }
  request.set_method(settings.method);
  request.set_aug_smooth(settings.aug_smooth);
  request.set_eigen_smooth(settings.eigen_smooth);
  if (settings.cam_multiply || settings.road) {
    request.mutable_faithfulness()->set_cam_multiply(settings.cam_multiply);
    request.mutable_faithfulness()->set_road(settings.road);
    for (float p : settings.road_percentiles) request.mutable_faithfulness()->add_road_percentiles(p);
    request.mutable_faithfulness()->set_road_seed(settings.road_seed);
  }
  for (float t : settings.thresholds) request.add_iou_thresholds(t);
  request.set_overlay_image_weight(settings.image_weight);
  return request;
}

absl::Status Session::Stream(int window, size_t count,
                             const StreamingExplainer::RequestFactory& make_request,
                             const StreamingExplainer::AnswerCallback& on_answer) {
  return RunExplainStream(stub_.get(), options_, window, count, make_request, on_answer);
}

std::string Session::DescribeError(const absl::Status& status) const {
  return DescribeCallError(status, options_);
}

SessionStart StartSession(const std::string& out_dir, const ConnectionOptions& connection,
                          const ExplainSettings& settings) {
  SessionStart start;
  if (absl::Status folder = CreateOutputFolder(out_dir); !folder.ok()) {
    start.exit_code = kExitFailed;
    start.error = std::string(folder.message());
    return start;
  }
  absl::StatusOr<std::unique_ptr<Session>> session = Session::Open(connection);
  if (!session.ok()) {
    start.exit_code = kExitServer;
    start.error = std::string(session.status().message());
    return start;
  }
  absl::StatusOr<explainer::v1::ExplainOptions> options = (*session)->RequestOptions(settings);
  if (!options.ok()) {
    start.exit_code = kExitUsage;
    start.error = std::string(options.status().message());
    return start;
  }
  start.session = *std::move(session);
  start.request_options = *std::move(options);
  return start;
}

}  // namespace explainer::client
