// The bench's figures from samples (client/bench/bench_report.h) and its flag checks
// (bench_options.h): quantiles by nearest rank, errors kept out of latency and stages,
// the batch histogram, text and JSON of the same report, messages naming the flag.
#include "client/bench/bench_report.h"

#include <string>
#include <vector>

#include "client/bench/bench_options.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace explainer::client::bench {
namespace {

using ::testing::HasSubstr;

BenchSample Answered(double latency_ms, int batch, float inference_ms) {
  BenchSample sample;
  sample.latency = absl::Milliseconds(latency_ms);
  sample.request_bytes = 1000;
  sample.response_bytes = 50;
  explainer::v1::StageTimings timings;
  timings.set_batch_size(batch);
  timings.set_inference_ms(inference_ms);
  timings.set_decode_ms(2);
  sample.timings = timings;
  return sample;
}

TEST(PercentileTest, NearestRank) {
  std::vector<double> values = {5, 1, 4, 2, 3, 6, 7, 8, 9, 10};
  EXPECT_EQ(Percentile(values, 0.5), 5);
  EXPECT_EQ(Percentile(values, 0.9), 9);
  EXPECT_EQ(Percentile(values, 0.99), 10);
  EXPECT_EQ(Percentile(values, 1.0), 10);
  EXPECT_EQ(Percentile(values, 0.0), 1);
  std::vector<double> empty;
  EXPECT_EQ(Percentile(empty, 0.5), 0);
}

TEST(SummariseTest, ErrorsCountButStayOutOfLatencyAndStages) {
  std::vector<BenchSample> samples = {Answered(10, 8, 100), Answered(30, 8, 300),
                                      Answered(20, 3, 200)};
  BenchSample failed;
  failed.latency = absl::Seconds(99);
  failed.request_bytes = 1000;
  failed.error = "item 3: code 3: image: not an image";
  samples.push_back(failed);
  const BenchReport report = Summarise(BenchSetup{}, samples, absl::Seconds(2));
  EXPECT_EQ(report.items, 4);
  EXPECT_EQ(report.errors, 1);
  EXPECT_EQ(report.first_error, "item 3: code 3: image: not an image");
  EXPECT_DOUBLE_EQ(report.images_per_s, 1.5);  // 3 answered in 2 s
  EXPECT_DOUBLE_EQ(report.latency.p50_ms, 20);
  EXPECT_DOUBLE_EQ(report.latency.max_ms, 30);
  EXPECT_DOUBLE_EQ(report.stage_median_ms.at("inference"), 200);
  EXPECT_DOUBLE_EQ(report.stage_median_ms.at("decode"), 2);
  EXPECT_EQ(report.batch_sizes, (std::map<int, int64_t>{{3, 1}, {8, 2}}));
  EXPECT_DOUBLE_EQ(report.request_bytes_per_item, 1000);
  EXPECT_DOUBLE_EQ(report.response_bytes_per_item, 37.5);  // 150 bytes over 4 items

  const std::string text = FormatText(report);
  EXPECT_THAT(text, HasSubstr("measured: 4 images, 1 errors, 2.000 s\n"));
  EXPECT_THAT(text, HasSubstr("throughput: 1.50 images/s\n"));
  EXPECT_THAT(text, HasSubstr("latency ms: p50 20.0 p90 30.0 p99 30.0 max 30.0\n"));
  EXPECT_THAT(text, HasSubstr("batch sizes (size:items): 3:1 8:2\n"));
  EXPECT_THAT(text, HasSubstr("first error: item 3: code 3: image: not an image\n"));
  const nlohmann::json json = ToJson(report);
  EXPECT_EQ(json["batch_size_histogram"]["8"], 2);
  EXPECT_EQ(json["latency_ms"]["p50"], 20.0);
  EXPECT_EQ(json["server_stage_median_ms"]["inference"], 200.0);
}

TEST(SummariseTest, NothingAnsweredSaysNone) {
  const BenchReport report = Summarise(BenchSetup{}, {}, absl::ZeroDuration());
  EXPECT_EQ(report.images_per_s, 0);
  EXPECT_THAT(FormatText(report), HasSubstr("server stage medians ms: none\n"));
  EXPECT_THAT(FormatText(report), HasSubstr("batch sizes (size:items): none\n"));
}

BenchFlagValues Flags() {
  BenchFlagValues values;
  values.connection.server = "127.0.0.1:1";
  values.connection.connect_timeout = absl::Seconds(1);
  values.connection.deadline = absl::Seconds(1);
  return values;
}

TEST(BenchOptionsTest, DefaultsAndErrorsNameTheFlag) {
  absl::StatusOr<BenchOptions> options = ParseBenchOptions(Flags());
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->width, 1000);
  EXPECT_EQ(options->duration, absl::Seconds(10));
  EXPECT_EQ(options->warmup, 32);  // 2 x 1 stream x window 16
  EXPECT_EQ(options->mode, OutputMode::kOverlay);
  EXPECT_TRUE(RequestOptionsFor(OutputMode::kPredict, options->method).skip_explanation());
  EXPECT_TRUE(RequestOptionsFor(OutputMode::kRaw, options->method).return_raw_heatmap());

  BenchFlagValues size = Flags();
  size.image_size = "1000";
  EXPECT_THAT(ParseBenchOptions(size).status().message(), HasSubstr("--image-size: '1000'"));
  BenchFlagValues both = Flags();
  both.count = 5;
  both.duration = absl::Seconds(1);
  EXPECT_THAT(ParseBenchOptions(both).status().message(), HasSubstr("--count and --duration"));
  BenchFlagValues streams = Flags();
  streams.streams = 0;
  EXPECT_THAT(ParseBenchOptions(streams).status().message(),
              HasSubstr("--streams: must be in [1, 256], got 0"));
  BenchFlagValues dir = Flags();
  dir.input_dir = "x";
  dir.image_size = "10x10";
  EXPECT_THAT(ParseBenchOptions(dir).status().message(), HasSubstr("not with --input-dir"));
}

}  // namespace
}  // namespace explainer::client::bench
