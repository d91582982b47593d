// The engine-only baseline; see engine_bench.h.
#include "service/engine/bench/engine_bench.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <map>
#include <sstream>
#include <thread>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "common/image_decode.h"
#include "common/process_heap.h"
#include "common/preprocess.h"
#include "service/engine/engine.h"

namespace explainer::engine::bench {
namespace {

using Clock = std::chrono::steady_clock;

double MsSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// Nearest-rank quantile, as `explainer bench` reports them (client/bench/bench_report.cc).
double Quantile(std::vector<double> values, double q) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const double rank = std::max(1.0, std::ceil(q * static_cast<double>(values.size())));
  return values[std::min(static_cast<size_t>(rank) - 1, values.size() - 1)];
}

bool IsImageFile(const std::filesystem::path& path) {
  const std::string ext = absl::AsciiStrToLower(path.extension().string());
  return ext == ".jpg" || ext == ".jpeg" || ext == ".png" || ext == ".bmp" || ext == ".tif" ||
         ext == ".tiff" || ext == ".webp";
}

absl::StatusOr<std::vector<std::pair<std::string, std::string>>> ReadImages(
    const std::string& dir) {
  std::error_code ec;
  std::vector<std::filesystem::path> paths;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir, ec)) {
    if (entry.is_regular_file() && IsImageFile(entry.path())) paths.push_back(entry.path());
  }
  if (ec) return absl::NotFoundError(absl::StrCat("--input_dir ", dir, ": ", ec.message()));
  if (paths.empty()) return absl::NotFoundError(absl::StrCat("--input_dir ", dir, ": no images"));
  std::sort(paths.begin(), paths.end());
  std::vector<std::pair<std::string, std::string>> files;
  for (const auto& path : paths) {
    std::ifstream in(path, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (!in.good() && !in.eof()) return absl::DataLossError(absl::StrCat("cannot read ", path.string()));
    files.emplace_back(path.string(), std::move(bytes));
  }
  return files;
}

// What the server does per item before the batcher (service/server/item_stages.cc).
absl::StatusOr<common::ModelInput> DecodeAndPreprocess(const std::string& name,
                                                       const std::string& bytes,
                                                       const ModelSpec& spec, double* decode_ms,
                                                       double* preprocess_ms) {
  Clock::time_point start = Clock::now();
  absl::StatusOr<cv::Mat> rgb = common::DecodeImage(bytes);
  if (!rgb.ok()) return absl::InvalidArgumentError(absl::StrCat(name, ": ", rgb.status().message()));
  if (decode_ms != nullptr) *decode_ms = MsSince(start);
  start = Clock::now();
  absl::StatusOr<common::ModelInput> input =
      common::Preprocess(*rgb, spec.input_size, spec.normalization);
  if (preprocess_ms != nullptr) *preprocess_ms = MsSince(start);
  if (!input.ok()) return absl::InvalidArgumentError(absl::StrCat(name, ": ", input.status().message()));
  return input;
}

struct ModeRun {
  std::string name;
  bool explain = false;
  bool with_decode = false;
  bool pipelined = false;  // decode on other threads, ahead of the engine
};

// Decoded batches for the pipelined mode: decode thread t makes batches t, t + T,
// t + 2T... and runs at most `lookahead` batches ahead of the engine, as the server's
// worker pool decodes the next items while the engine runs a batch.
class DecodedBatches {
 public:
  explicit DecodedBatches(int lookahead) : lookahead_(lookahead) {}

  // Blocks while batch `index` is too far ahead; false once stopped.
  bool WaitForRoom(int index) {
    absl::MutexLock lock(&mu_);
    auto room = [this, index] {
      mu_.AssertReaderHeld();
      return stopped_ || index < taken_ + lookahead_;
    };
    mu_.Await(absl::Condition(&room));
    return !stopped_;
  }
  void Put(int index, absl::StatusOr<std::vector<common::ModelInput>> batch) {
    absl::MutexLock lock(&mu_);
    ready_.emplace(index, std::move(batch));
  }
  // The next batch, in order.
  absl::StatusOr<std::vector<common::ModelInput>> Take() {
    absl::MutexLock lock(&mu_);
    auto here = [this] {
      mu_.AssertReaderHeld();
      return ready_.count(taken_) > 0;
    };
    mu_.Await(absl::Condition(&here));
    auto node = ready_.extract(taken_++);
    return std::move(node.mapped());
  }
  void Stop() {
    absl::MutexLock lock(&mu_);
    stopped_ = true;
  }

 private:
  const int lookahead_;
  absl::Mutex mu_;
  int taken_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  std::map<int, absl::StatusOr<std::vector<common::ModelInput>>> ready_ ABSL_GUARDED_BY(mu_);
};

class Bench {
 public:
  Bench(const EngineBenchOptions& options, std::unique_ptr<Engine> engine, CamMethod method,
        std::vector<std::pair<std::string, std::string>> files)
      : options_(options), engine_(std::move(engine)), method_(method), files_(std::move(files)) {}

  absl::StatusOr<nlohmann::json> Run() {
    nlohmann::json report;
    report["kind"] = "in_process";
    const ModelSpec& spec = engine_->spec();
    report["setup"] = {{"model", absl::StrCat(spec.name, " ", spec.version, " on ",
                                              engine_->device())},
                       {"images", absl::StrFormat("folder %s (%d files)", options_.input_dir,
                                                  files_.size())},
                       {"batch_size", options_.batch_size},
                       {"batches", options_.batches},
                       {"warmup_batches", options_.warmup_batches},
                       {"intra_op_threads", options_.intra_op_threads},
                       {"heap_allocator", common::HeapAllocatorName()},
                       {"decode_threads", options_.decode_threads},
                       {"method", options_.method}};
    // Decode + preprocess every file once, on this thread.
    std::vector<double> decode, preprocess;
    const Clock::time_point start = Clock::now();
    for (const auto& [name, bytes] : files_) {
      double d = 0, p = 0;
      absl::StatusOr<common::ModelInput> input = DecodeAndPreprocess(name, bytes, spec, &d, &p);
      if (!input.ok()) return input.status();
      inputs_.push_back(*std::move(input));
      decode.push_back(d);
      preprocess.push_back(p);
    }
    const double seconds = MsSince(start) / 1000.0;
    report["decode_preprocess"] = {
        {"decode_ms_median", Quantile(decode, 0.5)},
        {"preprocess_ms_median", Quantile(preprocess, 0.5)},
        {"images_per_s_one_thread", static_cast<double>(files_.size()) / seconds}};
    std::vector<ModeRun> modes = {{"forward", false, false}, {options_.method, true, false}};
    if (options_.with_decode) {
      modes.push_back({options_.method + "+decode", true, true});
      modes.push_back({options_.method + "+decode-pipelined", true, true, true});
    }
    for (const ModeRun& mode : modes) {
      absl::StatusOr<nlohmann::json> figures = TimeMode(mode);
      if (!figures.ok()) return figures.status();
      report["modes"][mode.name] = *std::move(figures);
    }
    return report;
  }

 private:
  // One batch starting at image `first` (cycling through the files).
  absl::Status RunBatch(const ModeRun& mode, size_t first) {
    std::vector<common::ModelInput> decoded;
    std::vector<EngineItem> batch;
    decoded.reserve(static_cast<size_t>(options_.batch_size));
    for (int i = 0; i < options_.batch_size; ++i) {
      const size_t index = (first + static_cast<size_t>(i)) % inputs_.size();
      const common::ModelInput* input = &inputs_[index];
      if (mode.with_decode) {
        absl::StatusOr<common::ModelInput> fresh = DecodeAndPreprocess(
            files_[index].first, files_[index].second, engine_->spec(), nullptr, nullptr);
        if (!fresh.ok()) return fresh.status();
        decoded.push_back(*std::move(fresh));
        input = &decoded.back();
      }
      EngineItem item;
      item.input = input;
      item.explain = mode.explain;
      item.cam.method = method_;
      batch.push_back(item);
    }
    return engine_->Run(batch).status();
  }

  // Decode + preprocess of the batch starting at image `first`.
  absl::StatusOr<std::vector<common::ModelInput>> DecodeBatch(size_t first) const {
    std::vector<common::ModelInput> inputs;
    for (int i = 0; i < options_.batch_size; ++i) {
      const size_t index = (first + static_cast<size_t>(i)) % files_.size();
      absl::StatusOr<common::ModelInput> input = DecodeAndPreprocess(
          files_[index].first, files_[index].second, engine_->spec(), nullptr, nullptr);
      if (!input.ok()) return input.status();
      inputs.push_back(*std::move(input));
    }
    return inputs;
  }

  absl::Status RunDecoded(const std::vector<common::ModelInput>& inputs) {
    std::vector<EngineItem> batch;
    for (const common::ModelInput& input : inputs) {
      EngineItem item;
      item.input = &input;
      item.explain = true;
      item.cam.method = method_;
      batch.push_back(item);
    }
    return engine_->Run(batch).status();
  }

  // Warm-up and timed batches with decode on options_.decode_threads other threads.
  absl::StatusOr<nlohmann::json> TimePipelined(const ModeRun& mode) {
    const int total = options_.warmup_batches + options_.batches;
    const int threads = options_.decode_threads;
    DecodedBatches batches(/*lookahead=*/threads + 1);
    std::vector<std::thread> decoders;
    for (int t = 0; t < threads; ++t) {
      decoders.emplace_back([this, &batches, t, threads, total] {
        for (int b = t; b < total && batches.WaitForRoom(b); b += threads) {
          batches.Put(b, DecodeBatch(static_cast<size_t>(b) * options_.batch_size));
        }
      });
    }
    absl::Status status;
    std::vector<double> latencies;
    Clock::time_point start = Clock::now();
    for (int b = 0; b < total && status.ok(); ++b) {
      if (b == options_.warmup_batches) start = Clock::now();
      const Clock::time_point batch_start = Clock::now();
      absl::StatusOr<std::vector<common::ModelInput>> inputs = batches.Take();
      status = inputs.ok() ? RunDecoded(*inputs) : inputs.status();
      if (b >= options_.warmup_batches) latencies.push_back(MsSince(batch_start));
    }
    const double seconds = MsSince(start) / 1000.0;
    batches.Stop();
    for (std::thread& decoder : decoders) decoder.join();
    if (!status.ok()) return status;
    return Figures(mode, seconds, latencies);
  }

  nlohmann::json Figures(const ModeRun& mode, double seconds,
                         const std::vector<double>& latencies) const {
    const int images = options_.batches * options_.batch_size;
    nlohmann::json figures{
        {"includes_decode", mode.with_decode},
        {"images", images},
        {"seconds", seconds},
        {"images_per_s", images / seconds},
        {"batch_latency_ms",
         {{"p50", Quantile(latencies, 0.5)}, {"p90", Quantile(latencies, 0.9)},
          {"p99", Quantile(latencies, 0.99)}, {"max", Quantile(latencies, 1.0)}}}};
    if (mode.pipelined) figures["decode_threads"] = options_.decode_threads;
    return figures;
  }

  absl::StatusOr<nlohmann::json> TimeMode(const ModeRun& mode) {
    if (mode.pipelined) return TimePipelined(mode);
    size_t next = 0;
    for (int b = 0; b < options_.warmup_batches; ++b, next += options_.batch_size) {
      if (absl::Status s = RunBatch(mode, next); !s.ok()) return s;
    }
    std::vector<double> latencies;
    const Clock::time_point start = Clock::now();
    for (int b = 0; b < options_.batches; ++b, next += options_.batch_size) {
      const Clock::time_point batch_start = Clock::now();
      if (absl::Status s = RunBatch(mode, next); !s.ok()) return s;
      latencies.push_back(MsSince(batch_start));
    }
    return Figures(mode, MsSince(start) / 1000.0, latencies);
  }

  const EngineBenchOptions options_;
  std::unique_ptr<Engine> engine_;
  const CamMethod method_;
  const std::vector<std::pair<std::string, std::string>> files_;
  std::vector<common::ModelInput> inputs_;
};

}  // namespace

absl::StatusOr<nlohmann::json> RunEngineBench(const EngineBenchOptions& options) {
  if (options.batch_size < 1 || options.batches < 1 || options.warmup_batches < 0 ||
      options.decode_threads < 1) {
    return absl::InvalidArgumentError(
        "--batch_size, --batches and --decode_threads must be at least 1, --warmup_batches at "
        "least 0");
  }
  const std::optional<CamMethod> method = CamMethodFromName(options.method);
  if (!method) {
    return absl::InvalidArgumentError(absl::StrCat("--method: unknown method '", options.method,
                                                   "' (one of ", CamMethodNames(), ")"));
  }
  absl::StatusOr<std::vector<std::pair<std::string, std::string>>> files =
      ReadImages(options.input_dir);
  if (!files.ok()) return files.status();
  EngineOptions engine_options;
  engine_options.model_path = options.model_path;
  engine_options.device = options.device;
  engine_options.intra_op_threads = options.intra_op_threads;
  absl::StatusOr<std::unique_ptr<Engine>> engine = Engine::Create(engine_options);
  if (!engine.ok()) return engine.status();
  Bench bench(options, *std::move(engine), *method, *std::move(files));
  return bench.Run();
}

std::string FormatEngineBench(const nlohmann::json& report) {
  const nlohmann::json& setup = report["setup"];
  std::string text = absl::StrFormat(
      "model: %s\nimages: %s\nheap allocator: %s\n"
      "batch size: %d, %d timed batches per mode after %d warm-up\n",
      setup["model"].get<std::string>(), setup["images"].get<std::string>(),
      setup.value("heap_allocator", std::string("?")),
      setup["batch_size"].get<int>(), setup["batches"].get<int>(),
      setup["warmup_batches"].get<int>());
  const nlohmann::json& dp = report["decode_preprocess"];
  absl::StrAppendFormat(&text,
                        "decode+preprocess (one thread): decode %.2f ms, preprocess %.2f ms per "
                        "image (medians), %.2f images/s\n",
                        dp["decode_ms_median"].get<double>(),
                        dp["preprocess_ms_median"].get<double>(),
                        dp["images_per_s_one_thread"].get<double>());
  for (const auto& [name, mode] : report["modes"].items()) {
    const nlohmann::json& l = mode["batch_latency_ms"];
    absl::StrAppendFormat(&text,
                          "mode %s (%s): %.2f images/s; batch latency ms: p50 %.1f p90 %.1f "
                          "p99 %.1f max %.1f\n",
                          name,
                          mode.contains("decode_threads")
                              ? absl::StrCat("with decode+preprocess on ",
                                             mode["decode_threads"].get<int>(),
                                             " other thread(s), a batch ahead")
                          : mode["includes_decode"].get<bool>() ? "with decode+preprocess"
                                                                : "engine only",
                          mode["images_per_s"].get<double>(), l["p50"].get<double>(),
                          l["p90"].get<double>(), l["p99"].get<double>(),
                          l["max"].get<double>());
  }
  return text;
}

}  // namespace explainer::engine::bench
