// gRPC status -> absl::Status, for every piece of the client that makes a call
// (the connection's unary calls and the Explain stream).
#ifndef EXPLAINER_CLIENT_CORE_GRPC_STATUS_H_
#define EXPLAINER_CLIENT_CORE_GRPC_STATUS_H_

#include "absl/status/status.h"
#include "grpcpp/support/status.h"

namespace explainer::client {

// The same code and message (gRPC's codes are absl's, one to one).
absl::Status FromGrpcStatus(const grpc::Status& status);

}  // namespace explainer::client

#endif  // EXPLAINER_CLIENT_CORE_GRPC_STATUS_H_
