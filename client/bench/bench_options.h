// Options of `explainer bench`, validated from raw flag values (main.cc owns the
// flags), and its usage text.
#ifndef EXPLAINER_CLIENT_BENCH_BENCH_OPTIONS_H_
#define EXPLAINER_CLIENT_BENCH_BENCH_OPTIONS_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "client/options.h"
#include "explainer/v1/explainer.pb.h"

namespace explainer::client::bench {

// What each request asks the server to return.
enum class OutputMode {
  kPredict,   // skip_explanation: prediction only
  kRaw,       // Grad-CAM, float32 heatmap at model resolution (the client renders)
  kHeatmap,   // Grad-CAM, 8-bit heatmap PNG at model resolution
  kOverlay,   // Grad-CAM, overlay PNG at the original resolution
  kAll,       // Grad-CAM, raw float heatmap + heatmap PNG + overlay PNG
};

struct BenchFlagValues {
  ConnectionFlagValues connection;
  std::string input_dir;     // images from a folder, or
  std::string image_size;    // generated "WxH" (default when no --input-dir)
  int images = 8;            // generated: distinct images
  std::string write_images;  // write the generated images here and exit
  uint64_t seed = 1;
  int streams = 1;
  int window = 16;
  bool unary = false;
  int count = 0;             // measured items; 0: use duration
  absl::Duration duration = absl::ZeroDuration();
  int warmup = -1;           // items; -1: 2 x streams x window
  std::string mode = "overlay";
  std::string method = "grad-cam";
  std::string json;          // --json FILE
};

struct BenchOptions {
  ConnectionOptions connection;
  std::string input_dir;
  int width = 0, height = 0;  // generated images (when input_dir is empty)
  int images = 8;
  std::string write_images;
  uint64_t seed = 1;
  int streams = 1;
  int window = 16;
  bool unary = false;
  // Stop after `count` measured items, or after `duration`, whichever is set.
  int count = 0;
  absl::Duration duration = absl::ZeroDuration();
  int warmup = 0;
  OutputMode mode = OutputMode::kOverlay;
  explainer::v1::CamMethod method = explainer::v1::CAM_METHOD_GRAD_CAM;
  std::string json;
};

// Every error names the flag, e.g. "--mode: 'png' is not one of predict, heatmap,
// overlay, all".
absl::StatusOr<BenchOptions> ParseBenchOptions(const BenchFlagValues& values);

// "overlay" for kOverlay, as the flag spells it.
const char* OutputModeName(OutputMode mode);

// The request options of one output mode and method.
explainer::v1::ExplainOptions RequestOptionsFor(OutputMode mode, explainer::v1::CamMethod method);

// The `explainer help bench` section.
const char* BenchUsageText();

}  // namespace explainer::client::bench

#endif  // EXPLAINER_CLIENT_BENCH_BENCH_OPTIONS_H_
