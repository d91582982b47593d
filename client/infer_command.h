// `explainer infer`: one image or a folder over one Explain stream.
#ifndef EXPLAINER_CLIENT_INFER_COMMAND_H_
#define EXPLAINER_CLIENT_INFER_COMMAND_H_

#include <cstdio>

#include "client/options.h"

namespace explainer::client {

// Runs the whole command and returns its exit status (client/exit_codes.h). The
// summary goes to `out`; diagnostics, and the progress bar when `err` is a
// terminal, go to `err`.
int RunInfer(const InferOptions& options, std::FILE* out, std::FILE* err);

}  // namespace explainer::client

#endif  // EXPLAINER_CLIENT_INFER_COMMAND_H_
