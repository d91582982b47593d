// Bench figures from samples, as text and JSON; see bench_report.h.
#include "client/bench/bench_report.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace explainer::client::bench {
namespace {

// The StageTimings fields, in the order the server's pipeline runs them.
std::vector<std::pair<std::string, double>> StageValues(const explainer::v1::StageTimings& t) {
  return {{"decode", t.decode_ms()},       {"preprocess", t.preprocess_ms()},
          {"queue", t.queue_ms()},         {"inference", t.inference_ms()},
          {"postprocess", t.postprocess_ms()}, {"total", t.total_ms()}};
}

const char* const kStageOrder[] = {"decode", "preprocess", "queue", "inference", "postprocess",
                                   "total"};

}  // namespace

double Percentile(std::vector<double>& values, double q) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const double rank = std::ceil(q * static_cast<double>(values.size()));
  const size_t index = static_cast<size_t>(std::max(1.0, rank)) - 1;
  return values[std::min(index, values.size() - 1)];
}

BenchReport Summarise(const BenchSetup& setup, const std::vector<BenchSample>& samples,
                      absl::Duration elapsed) {
  BenchReport report;
  report.setup = setup;
  report.items = static_cast<int64_t>(samples.size());
  report.seconds = absl::ToDoubleSeconds(elapsed);
  std::vector<double> latencies;
  std::map<std::string, std::vector<double>> stages;
  int64_t request_bytes = 0, response_bytes = 0;
  for (const BenchSample& sample : samples) {
    request_bytes += sample.request_bytes;
    response_bytes += sample.response_bytes;
    if (!sample.error.empty()) {
      if (report.errors++ == 0) report.first_error = sample.error;
      continue;
    }
    latencies.push_back(absl::ToDoubleMilliseconds(sample.latency));
    if (!sample.timings) continue;
    for (const auto& [name, value] : StageValues(*sample.timings)) stages[name].push_back(value);
    ++report.batch_sizes[sample.timings->batch_size()];
  }
  const int64_t answered = report.items - report.errors;
  report.images_per_s = report.seconds > 0 ? static_cast<double>(answered) / report.seconds : 0;
  report.latency.p50_ms = Percentile(latencies, 0.50);
  report.latency.p90_ms = Percentile(latencies, 0.90);
  report.latency.p99_ms = Percentile(latencies, 0.99);
  report.latency.max_ms = Percentile(latencies, 1.0);
  for (auto& [name, values] : stages) report.stage_median_ms[name] = Percentile(values, 0.5);
  if (report.items > 0) {
    report.request_bytes_per_item = static_cast<double>(request_bytes) / report.items;
    report.response_bytes_per_item = static_cast<double>(response_bytes) / report.items;
  }
  return report;
}

std::string FormatText(const BenchReport& report) {
  const BenchSetup& s = report.setup;
  std::string text = absl::StrFormat(
      "server: %s (model %s)\nimages: %s\ntransport: %s\nmode: %s, method %s, warm-up %d "
      "images\n",
      s.server, s.model, s.images, s.transport, s.mode, s.method, s.warmup);
  absl::StrAppendFormat(&text, "measured: %d images, %d errors, %.3f s\n", report.items,
                        report.errors, report.seconds);
  absl::StrAppendFormat(&text, "throughput: %.2f images/s\n", report.images_per_s);
  absl::StrAppendFormat(&text, "latency ms: p50 %.1f p90 %.1f p99 %.1f max %.1f\n",
                        report.latency.p50_ms, report.latency.p90_ms, report.latency.p99_ms,
                        report.latency.max_ms);
  std::vector<std::string> stages;
  for (const char* name : kStageOrder) {
    auto it = report.stage_median_ms.find(name);
    if (it != report.stage_median_ms.end()) {
      stages.push_back(absl::StrFormat("%s %.2f", name, it->second));
    }
  }
  absl::StrAppend(&text, "server stage medians ms: ",
                  stages.empty() ? "none" : absl::StrJoin(stages, " "), "\n");
  std::vector<std::string> sizes;
  for (const auto& [size, items] : report.batch_sizes) sizes.push_back(absl::StrCat(size, ":", items));
  absl::StrAppend(&text, "batch sizes (size:items): ",
                  sizes.empty() ? "none" : absl::StrJoin(sizes, " "), "\n");
  absl::StrAppendFormat(&text, "wire bytes per item: request %.0f response %.0f\n",
                        report.request_bytes_per_item, report.response_bytes_per_item);
  if (report.errors > 0) absl::StrAppend(&text, "first error: ", report.first_error, "\n");
  return text;
}

nlohmann::json ToJson(const BenchReport& report) {
  const BenchSetup& s = report.setup;
  nlohmann::json stages = nlohmann::json::object();
  for (const auto& [name, value] : report.stage_median_ms) stages[name] = value;
  nlohmann::json sizes = nlohmann::json::object();
  for (const auto& [size, items] : report.batch_sizes) sizes[std::to_string(size)] = items;
  return {
      {"kind", "served"},
      {"setup",
       {{"server", s.server}, {"model", s.model}, {"images", s.images},
        {"transport", s.transport}, {"mode", s.mode}, {"method", s.method},
        {"warmup", s.warmup}}},
      {"items", report.items},
      {"errors", report.errors},
      {"first_error", report.first_error},
      {"seconds", report.seconds},
      {"images_per_s", report.images_per_s},
      {"latency_ms",
       {{"p50", report.latency.p50_ms}, {"p90", report.latency.p90_ms},
        {"p99", report.latency.p99_ms}, {"max", report.latency.max_ms}}},
      {"server_stage_median_ms", stages},
      {"batch_size_histogram", sizes},
      {"wire_bytes_per_item",
       {{"request", report.request_bytes_per_item}, {"response", report.response_bytes_per_item}}},
  };
}

}  // namespace explainer::client::bench
