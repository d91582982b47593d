// Reaching the server: channel with deadlines and message limits, model info, and
// error messages a person can act on.
#ifndef EXPLAINER_CLIENT_CONNECTION_H_
#define EXPLAINER_CLIENT_CONNECTION_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "client/options.h"
#include "explainer/v1/explainer.grpc.pb.h"
#include "grpcpp/channel.h"

namespace explainer::client {

// A channel to options.server that is connected (waited for up to
// connect_timeout). UNAVAILABLE with a message naming the address and how to start
// the server when it cannot be reached.
absl::StatusOr<std::shared_ptr<grpc::Channel>> Connect(const ConnectionOptions& options);

// GetModelInfo with options.deadline. RESOURCE_EXHAUSTED (server busy) is retried
// with backoff (options.max_attempts, options.retry_backoff); the final error says how
// often it was refused.
absl::StatusOr<explainer::v1::ModelInfo> FetchModelInfo(
    explainer::v1::Explainer::StubInterface& stub, const ConnectionOptions& options);

// One line for a failed call: says whether the server is down, slow or refused,
// names the address, and keeps the server's own message.
std::string DescribeCallError(const absl::Status& status, const ConnectionOptions& options);

}  // namespace explainer::client

#endif  // EXPLAINER_CLIENT_CONNECTION_H_
