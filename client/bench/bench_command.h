// `explainer bench`: loads a server (bench_options.h says how) and prints its
// throughput, latency, stage medians, batch sizes and wire bytes.
#ifndef EXPLAINER_CLIENT_BENCH_BENCH_COMMAND_H_
#define EXPLAINER_CLIENT_BENCH_BENCH_COMMAND_H_

#include <cstdio>

#include "client/bench/bench_options.h"

namespace explainer::client::bench {

// Exit status as client/exit_codes.h: 0 every measured item answered, 1 some items
// failed or a file could not be written, 3 the server could not be reached or broke
// the call.
int RunBench(const BenchOptions& options, std::FILE* out, std::FILE* err);

}  // namespace explainer::client::bench

#endif  // EXPLAINER_CLIENT_BENCH_BENCH_COMMAND_H_
