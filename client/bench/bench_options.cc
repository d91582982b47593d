// Validation of the `explainer bench` flags; see bench_options.h.
#include "client/bench/bench_options.h"

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace explainer::client::bench {
namespace {

constexpr int kMaxStreams = 256;
constexpr int kMaxWindow = 1024;
constexpr int kMaxSide = 16384;
constexpr int kMaxImages = 10000;
constexpr int kDefaultSide = 1000;

absl::Status CheckRange(const char* flag, int value, int low, int high) {
  if (value < low || value > high) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, ": must be in [", low, ", ", high, "], got ", value));
  }
  return absl::OkStatus();
}

absl::Status ParseSize(const std::string& text, int* width, int* height) {
  const std::vector<std::string> parts = absl::StrSplit(absl::AsciiStrToLower(text), 'x');
  if (parts.size() != 2 || !absl::SimpleAtoi(parts[0], width) ||
      !absl::SimpleAtoi(parts[1], height) || *width < 1 || *height < 1 || *width > kMaxSide ||
      *height > kMaxSide) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--image-size: '", text, "' is not WIDTHxHEIGHT with sides in [1, ", kMaxSide,
        "] (e.g. 1000x1000)"));
  }
  return absl::OkStatus();
}

absl::StatusOr<OutputMode> ParseMode(const std::string& text) {
  const std::string mode = absl::AsciiStrToLower(text);
  if (mode == "predict") return OutputMode::kPredict;
  if (mode == "raw") return OutputMode::kRaw;
  if (mode == "heatmap") return OutputMode::kHeatmap;
  if (mode == "overlay") return OutputMode::kOverlay;
  if (mode == "all") return OutputMode::kAll;
  return absl::InvalidArgumentError(
      absl::StrCat("--mode: '", text, "' is not one of predict, raw, heatmap, overlay, all"));
}

}  // namespace

absl::StatusOr<BenchOptions> ParseBenchOptions(const BenchFlagValues& values) {
  BenchOptions options;
  if (values.write_images.empty()) {
    absl::StatusOr<ConnectionOptions> connection = ParseConnectionOptions(values.connection);
    if (!connection.ok()) return connection.status();
    options.connection = *std::move(connection);
  }
  options.input_dir = values.input_dir;
  if (!values.input_dir.empty() && !values.image_size.empty()) {
    return absl::InvalidArgumentError(
        "--image-size: not with --input-dir (the folder's images are sent as they are)");
  }
  if (values.input_dir.empty()) {
    options.width = options.height = kDefaultSide;
    if (!values.image_size.empty()) {
      if (absl::Status s = ParseSize(values.image_size, &options.width, &options.height); !s.ok()) {
        return s;
      }
    }
  }
  if (!values.write_images.empty() && !values.input_dir.empty()) {
    return absl::InvalidArgumentError("--write-images: writes generated images; not with --input-dir");
  }
  if (absl::Status s = CheckRange("--images", values.images, 1, kMaxImages); !s.ok()) return s;
  if (absl::Status s = CheckRange("--streams", values.streams, 1, kMaxStreams); !s.ok()) return s;
  if (absl::Status s = CheckRange("--window", values.window, 1, kMaxWindow); !s.ok()) return s;
  if (values.count < 0) {
    return absl::InvalidArgumentError(absl::StrCat("--count: must be >= 0, got ", values.count));
  }
  if (values.duration < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--duration: must not be negative");
  }
  if (values.count > 0 && values.duration > absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--count and --duration: give one of them, not both");
  }
  options.images = values.images;
  options.write_images = values.write_images;
  options.seed = values.seed;
  options.streams = values.streams;
  options.window = values.window;
  options.unary = values.unary;
  options.count = values.count;
  options.duration = values.duration;
  if (options.count == 0 && options.duration == absl::ZeroDuration()) {
    options.duration = absl::Seconds(10);
  }
  options.warmup = values.warmup < 0 ? 2 * values.streams * values.window : values.warmup;
  absl::StatusOr<OutputMode> mode = ParseMode(values.mode);
  if (!mode.ok()) return mode.status();
  options.mode = *mode;
  absl::StatusOr<explainer::v1::CamMethod> method = ParseCamMethod(values.method);
  if (!method.ok()) return method.status();
  options.method = *method;
  options.json = values.json;
  return options;
}

const char* OutputModeName(OutputMode mode) {
  switch (mode) {
    case OutputMode::kPredict: return "predict";
    case OutputMode::kRaw: return "raw";
    case OutputMode::kHeatmap: return "heatmap";
    case OutputMode::kOverlay: return "overlay";
    case OutputMode::kAll: return "all";
  }
  return "?";
}

explainer::v1::ExplainOptions RequestOptionsFor(OutputMode mode, explainer::v1::CamMethod method) {
  explainer::v1::ExplainOptions options;
  options.set_method(method);
  switch (mode) {
    case OutputMode::kPredict:
      options.set_skip_explanation(true);
      break;
    case OutputMode::kRaw:
      options.set_return_raw_heatmap(true);
      break;
    case OutputMode::kHeatmap:
      options.set_return_heatmap_png(true);
      break;
    case OutputMode::kOverlay:
      options.set_return_overlay_png(true);
      break;
    case OutputMode::kAll:
      options.set_return_raw_heatmap(true);
      options.set_return_heatmap_png(true);
      options.set_return_overlay_png(true);
      break;
  }
  return options;
}

const char* BenchUsageText() {
  return "\n"
         "explainer bench: load a server and measure it: throughput, latency, the server's\n"
         "own stage times, its batch sizes and the bytes on the wire per image.\n"
         "  --input-dir DIR       send the images of this folder (walked as infer does), or\n"
         "  --image-size WxH      generated radiograph-like JPEGs (default 1000x1000)\n"
         "  --images N            generated: distinct images, sent round-robin (default 8)\n"
         "  --seed S              generated: seed (same seed, same bytes; default 1)\n"
         "  --write-images DIR    write the generated images to DIR as JPEG and exit (so\n"
         "                        other benchmarks can read the same files)\n"
         "  --streams N           Explain streams in parallel (default 1)\n"
         "  --window N            requests in flight per stream (default 16)\n"
         "  --unary               ExplainImage calls instead: streams x window concurrent\n"
         "                        calls, one at a time each\n"
         "  --count N             measure N images, or\n"
         "  --duration D          measure for D, e.g. 30s (default 10s)\n"
         "  --warmup N            images sent and discarded first (default 2 x streams x\n"
         "                        window)\n"
         "  --mode M              what the server returns: predict (no CAM), raw (float32\n"
         "                        heatmap at model resolution), heatmap (8-bit PNG at model\n"
         "                        resolution), overlay (PNG at the original resolution;\n"
         "                        default), all (raw + heatmap + overlay)\n"
         "  --method NAME         CAM method (default grad-cam; names as for infer)\n"
         "  --json FILE           also write the figures as JSON\n"
         "  Prints images/s, latency p50/p90/p99/max (client send to answer), the medians\n"
         "  of the server's StageTimings (inference_ms is per batch), the histogram of the\n"
         "  engine batch sizes the items ran in, and the protobuf bytes per item each way\n"
         "  (payload, without HTTP/2 framing). Exit status 0 when every measured item was\n"
         "  answered without error, 1 when some failed (the first error is printed).\n";
}

}  // namespace explainer::client::bench
