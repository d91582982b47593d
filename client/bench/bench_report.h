// The figures of a bench run, from per-item samples: throughput, latency
// percentiles, the server's stage medians, batch sizes, wire bytes; as text for a
// person and as JSON for machines (both parsed by tests/client/bench).
#ifndef EXPLAINER_CLIENT_BENCH_BENCH_REPORT_H_
#define EXPLAINER_CLIENT_BENCH_BENCH_REPORT_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "explainer/v1/explainer.pb.h"
#include "nlohmann/json.hpp"

namespace explainer::client::bench {

// One measured item.
struct BenchSample {
  absl::Duration latency;  // send to answer
  int64_t request_bytes = 0;
  int64_t response_bytes = 0;
  std::optional<explainer::v1::StageTimings> timings;  // when the server answered a result
  std::string error;  // empty when the item got a result
};

// The run's setup, echoed into the report.
struct BenchSetup {
  std::string server;
  std::string model;       // name and version from GetModelInfo
  std::string images;      // "8 generated 1000x1000 JPEG" or "folder DIR (64 files)"
  std::string transport;   // "1 stream x window 16" or "unary, 16 concurrent calls"
  std::string mode;
  std::string method;
  int warmup = 0;
};

struct LatencySummary {
  double p50_ms = 0, p90_ms = 0, p99_ms = 0, max_ms = 0;
};

struct BenchReport {
  BenchSetup setup;
  int64_t items = 0;   // measured items (results and errors)
  int64_t errors = 0;
  std::string first_error;
  double seconds = 0;  // first measured send to last answer
  double images_per_s = 0;
  LatencySummary latency;
  // Medians of each StageTimings field over the items with a result; "inference" is
  // the engine time of the batch the item ran in.
  std::map<std::string, double> stage_median_ms;
  std::map<int, int64_t> batch_sizes;  // engine batch size -> items
  double request_bytes_per_item = 0;
  double response_bytes_per_item = 0;
};

// The q-quantile (0..1) by the nearest-rank method; 0 for an empty list. Sorts.
double Percentile(std::vector<double>& values, double q);

BenchReport Summarise(const BenchSetup& setup, const std::vector<BenchSample>& samples,
                      absl::Duration elapsed);

// Lines of "key: values" (see tests/client/bench for the exact shape).
std::string FormatText(const BenchReport& report);

nlohmann::json ToJson(const BenchReport& report);

}  // namespace explainer::client::bench

#endif  // EXPLAINER_CLIENT_BENCH_BENCH_REPORT_H_
