// explainer-engine-bench: the in-process baseline of `explainer bench` (the engine
// alone on the same image files and bundle). Prints text; --json writes the report.
#include <cstdio>
#include <fstream>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "common/process_heap.h"
#include "service/engine/bench/engine_bench.h"

ABSL_FLAG(std::string, model, "", "TorchScript bundle (as explainer-server --model)");
ABSL_FLAG(std::string, input_dir, "", "folder of images (e.g. from explainer bench --write-images)");
ABSL_FLAG(std::string, device, "cpu", "cpu, cuda or cuda:N");
ABSL_FLAG(int, threads, 0, "LibTorch intra-op threads; 0: all cores");
ABSL_FLAG(int, batch_size, 8, "images per Engine::Run");
ABSL_FLAG(int, batches, 8, "timed batches per mode");
ABSL_FLAG(int, warmup_batches, 3, "untimed batches per mode, first (TorchScript optimises over the first runs)");
ABSL_FLAG(std::string, method, "grad-cam", "CAM method of the explained modes");
ABSL_FLAG(bool, with_decode, true,
          "also time decode + preprocess + Run per batch, serially and pipelined");
ABSL_FLAG(int, decode_threads, 1,
          "threads that decode ahead of the engine in the pipelined mode (as the server's "
          "--workers)");
ABSL_FLAG(std::string, json, "", "also write the report as JSON here");

int main(int argc, char** argv) {
  explainer::common::ConfigureProcessHeap();  // as explainer-server does: same allocator
  absl::SetProgramUsageMessage(
      "explainer-engine-bench --model BUNDLE --input_dir DIR [--batch_size 8] [--json FILE]\n"
      "Times Engine::Run for prediction only ('forward') and for --method, with inputs\n"
      "decoded and preprocessed beforehand, and (--with_decode) with decode + preprocess\n"
      "of each batch on the same thread, and pipelined on --decode_threads other threads;\n"
      "also decode and preprocess per image.");
  absl::ParseCommandLine(argc, argv);
  explainer::engine::bench::EngineBenchOptions options;
  options.model_path = absl::GetFlag(FLAGS_model);
  options.input_dir = absl::GetFlag(FLAGS_input_dir);
  options.device = absl::GetFlag(FLAGS_device);
  options.intra_op_threads = absl::GetFlag(FLAGS_threads);
  options.batch_size = absl::GetFlag(FLAGS_batch_size);
  options.batches = absl::GetFlag(FLAGS_batches);
  options.warmup_batches = absl::GetFlag(FLAGS_warmup_batches);
  options.method = absl::GetFlag(FLAGS_method);
  options.with_decode = absl::GetFlag(FLAGS_with_decode);
  options.decode_threads = absl::GetFlag(FLAGS_decode_threads);
  if (options.model_path.empty() || options.input_dir.empty()) {
    std::fprintf(stderr, "explainer-engine-bench: --model and --input_dir are required\n");
    return 2;
  }
  absl::StatusOr<nlohmann::json> report = explainer::engine::bench::RunEngineBench(options);
  if (!report.ok()) {
    std::fprintf(stderr, "explainer-engine-bench: %s\n", report.status().ToString().c_str());
    return 1;
  }
  std::fputs(explainer::engine::bench::FormatEngineBench(*report).c_str(), stdout);
  const std::string json = absl::GetFlag(FLAGS_json);
  if (!json.empty()) {
    std::ofstream out(json);
    out << report->dump(2) << "\n";
    if (!out.good()) {
      std::fprintf(stderr, "explainer-engine-bench: cannot write %s\n", json.c_str());
      return 1;
    }
  }
  return 0;
}
