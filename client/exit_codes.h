// Exit statuses of the `explainer` CLI, shared by every subcommand.
#ifndef EXPLAINER_CLIENT_EXIT_CODES_H_
#define EXPLAINER_CLIENT_EXIT_CODES_H_

namespace explainer::client {

// 0: the command did its job (for infer: at least one image succeeded).
inline constexpr int kExitOk = 0;
// 1: the command ran but produced nothing useful (every image failed, no images
// found, output folder not writable).
inline constexpr int kExitFailed = 1;
// 2: bad command line (unknown subcommand, missing or invalid flag).
inline constexpr int kExitUsage = 2;
// 3: the server could not be reached, or the call failed as a whole (server down,
// too slow, refused the call, stream broken). Answers received before are kept.
inline constexpr int kExitServer = 3;

}  // namespace explainer::client

#endif  // EXPLAINER_CLIENT_EXIT_CODES_H_
