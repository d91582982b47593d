// `explainer info`: what the server hosts.
#ifndef EXPLAINER_CLIENT_INFO_COMMAND_H_
#define EXPLAINER_CLIENT_INFO_COMMAND_H_

#include <cstdio>
#include <string>

#include "client/options.h"
#include "explainer/v1/explainer.pb.h"

namespace explainer::client {

// The text `explainer info` prints: model, classes, input, normalisation, device,
// target layer, methods, limits.
std::string FormatModelInfo(const explainer::v1::ModelInfo& info, const std::string& server);

// Connects, fetches the model info and prints it to `out`; errors to `err`.
// Returns the exit status.
int RunInfo(const ConnectionOptions& options, std::FILE* out, std::FILE* err);

}  // namespace explainer::client

#endif  // EXPLAINER_CLIENT_INFO_COMMAND_H_
