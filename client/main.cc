// `explainer`: the client CLI. Parses flags and dispatches to a subcommand.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "grpc/support/log.h"
#include "client/bench/bench_command.h"
#include "client/bench/bench_options.h"
#include "client/command_line.h"
#include "client/exit_codes.h"
#include "client/gallery/gallery_command.h"
#include "client/gallery/gallery_options.h"
#include "client/infer_command.h"
#include "client/info_command.h"
#include "client/options.h"

// Connection (every subcommand).
ABSL_FLAG(std::string, server, "127.0.0.1:50051",
          "Server address: host:port, or a gRPC target such as "
          "dns:///host:port or ipv4:a:port,b:port (several replicas).");
ABSL_FLAG(std::string, lb, "",
          "Load balancing over the addresses --server resolves to: pick_first (gRPC's "
          "default) or round_robin (infer then spreads images over several streams and "
          "re-sends those a lost replica left unanswered).");
ABSL_FLAG(absl::Duration, connect_timeout, absl::Seconds(10),
          "How long to wait for the server to accept the connection.");
ABSL_FLAG(absl::Duration, deadline, absl::Seconds(60),
          "info: the call's deadline. infer: each image must be answered within this "
          "time of being sent.");
ABSL_FLAG(int, max_message_mb, 64, "Largest message sent or received, in MB.");
ABSL_FLAG(bool, tls, false, "TLS with the system's root certificates.");
ABSL_FLAG(std::string, tls_ca, "", "TLS: PEM CA certificate(s) to trust for the server.");
ABSL_FLAG(std::string, tls_cert, "", "mTLS: PEM client certificate (with --tls-key).");
ABSL_FLAG(std::string, tls_key, "", "mTLS: PEM private key of --tls-cert.");
ABSL_FLAG(std::string, tls_server_name, "",
          "TLS: the name to check the server's certificate against.");
ABSL_FLAG(std::string, token_file, "",
          "File holding the bearer token (default: $EXPLAINER_TOKEN).");
// infer
ABSL_FLAG(std::string, image, "", "infer: one image file.");
ABSL_FLAG(std::string, input_dir, "", "infer: a folder of images, walked recursively.");
ABSL_FLAG(std::string, annotations_dir, "", "infer: folder of LabelMe <stem>.json files.");
ABSL_FLAG(std::string, out, "", "infer: output folder.");
ABSL_FLAG(std::string, method, "grad-cam", "infer: CAM method.");
ABSL_FLAG(bool, aug_smooth, false, "infer: pytorch-grad-cam aug_smooth (6 passes).");
ABSL_FLAG(bool, eigen_smooth, false, "infer: pytorch-grad-cam eigen_smooth.");
ABSL_FLAG(std::string, faithfulness, "",
          "infer: metrics of the heatmap into results.jsonl: cam-multiply, road.");
ABSL_FLAG(std::string, road_percentiles, "",
          "infer: ROAD's percentiles, e.g. 20,40,60,80 (default 10,20,...,90).");
ABSL_FLAG(int64_t, road_seed, 0, "infer: seed of ROAD's imputation noise (default 0).");
ABSL_FLAG(std::string, target_class, "",
          "infer: class to explain (index or name); default the predicted class.");
ABSL_FLAG(std::string, thresholds, "0.3,0.5,0.7", "infer: heatmap thresholds of the IoU.");
ABSL_FLAG(bool, heatmap, false, "infer: also write <stem>_heatmap.png.");
ABSL_FLAG(bool, save_cam, false, "infer: also write <stem>_cam.npy (float32).");
ABSL_FLAG(std::string, dicom_out, "",
          "infer: for DICOM inputs, write <stem>_overlay.dcm (Secondary Capture) and "
          "<stem>_sr.dcm (Comprehensive SR) here.");
ABSL_FLAG(std::string, dicom_uid_root, "", "infer: UID root of the DICOM outputs.");
ABSL_FLAG(std::string, dicom_voi, "",
          "infer: VOI of DICOM inputs: file, minmax, window:N, lut:N or CENTER,WIDTH.");
ABSL_FLAG(std::string, input_pacs, "",
          "infer: pull the --pacs-study studies from this PACS (AET@HOST:PORT, C-GET).");
ABSL_FLAG(std::string, pacs_study, "", "infer: Study Instance UIDs to pull (UID[,UID...]).");
ABSL_FLAG(std::string, pacs_aet, "EXPLAINER", "infer: our AE title towards the PACS.");
ABSL_FLAG(double, image_weight, 0.5, "infer: weight of the image in the overlay.");
ABSL_FLAG(std::string, overlay, "client",
          "infer: who renders the overlay: client (from the server's float32 heatmap) or "
          "server (it sends the PNG).");
ABSL_FLAG(int, png_compression, -1, "infer: overlay PNG compression, -1 fast or 0..9.");
ABSL_FLAG(int, window, 16, "infer: requests in flight on the stream.");
// gallery (also uses input_dir, annotations_dir, out, method, thresholds,
// image_weight, window)
ABSL_FLAG(std::string, labels, "",
          "gallery: BTXRD dataset.csv, an image,label CSV or a folder per class.");
ABSL_FLAG(int, k, 3, "gallery: images per TP / FP / FN row.");
ABSL_FLAG(std::string, methods, "",
          "gallery: CAM methods compared with --method against the annotations.");
// bench (also uses input_dir, method, window)
ABSL_FLAG(std::string, image_size, "", "bench: generated images WIDTHxHEIGHT (default 1000x1000).");
ABSL_FLAG(int, images, 8, "bench: distinct generated images.");
ABSL_FLAG(std::string, write_images, "", "bench: write the generated images here and exit.");
ABSL_FLAG(uint64_t, seed, 1, "bench: seed of the generated images.");
ABSL_FLAG(int, streams, 1, "bench: Explain streams in parallel.");
ABSL_FLAG(bool, unary, false, "bench: ExplainImage calls instead of streams.");
ABSL_FLAG(int, count, 0, "bench: measured images (0: --duration).");
ABSL_FLAG(absl::Duration, duration, absl::ZeroDuration(), "bench: measuring time (default 10s).");
ABSL_FLAG(int, warmup, -1, "bench: warm-up images (default 2 x streams x window).");
ABSL_FLAG(std::string, mode, "overlay", "bench: predict, raw, heatmap, overlay or all.");
ABSL_FLAG(std::string, json, "", "bench: also write the figures to this JSON file.");

namespace explainer::client {
namespace {

ConnectionFlagValues ConnectionFlags() {
  ConnectionFlagValues values{absl::GetFlag(FLAGS_server), absl::GetFlag(FLAGS_connect_timeout),
                              absl::GetFlag(FLAGS_deadline), absl::GetFlag(FLAGS_max_message_mb),
                              absl::GetFlag(FLAGS_lb)};
  values.security.tls = absl::GetFlag(FLAGS_tls);
  values.security.tls_ca = absl::GetFlag(FLAGS_tls_ca);
  values.security.tls_cert = absl::GetFlag(FLAGS_tls_cert);
  values.security.tls_key = absl::GetFlag(FLAGS_tls_key);
  values.security.tls_server_name = absl::GetFlag(FLAGS_tls_server_name);
  values.security.token_file = absl::GetFlag(FLAGS_token_file);
  if (const char* token = std::getenv("EXPLAINER_TOKEN")) values.security.token_env = token;
  return values;
}

int UsageError(const std::string& command, const std::string& message) {
  std::fprintf(stderr, "explainer%s: %s\nRun 'explainer help%s' for usage.\n",
               command.empty() ? "" : (" " + command).c_str(), message.c_str(),
               command.empty() ? "" : (" " + command).c_str());
  return kExitUsage;
}

// The request settings infer and gallery share; gallery takes method, thresholds
// and image weight only (the other flags are infer's).
ExplainFlagValues ExplainFlags() {
  ExplainFlagValues values;
  values.method = absl::GetFlag(FLAGS_method);
  values.aug_smooth = absl::GetFlag(FLAGS_aug_smooth);
  values.eigen_smooth = absl::GetFlag(FLAGS_eigen_smooth);
  values.faithfulness = absl::GetFlag(FLAGS_faithfulness);
  values.road_percentiles = absl::GetFlag(FLAGS_road_percentiles);
  values.road_seed = absl::GetFlag(FLAGS_road_seed);
  values.target_class = absl::GetFlag(FLAGS_target_class);
  values.thresholds = absl::GetFlag(FLAGS_thresholds);
  values.image_weight = absl::GetFlag(FLAGS_image_weight);
  return values;
}

int Infer() {
  InferFlagValues values;
  values.connection = ConnectionFlags();
  values.explain = ExplainFlags();
  values.window = absl::GetFlag(FLAGS_window);
  values.image = absl::GetFlag(FLAGS_image);
  values.input_dir = absl::GetFlag(FLAGS_input_dir);
  values.annotations_dir = absl::GetFlag(FLAGS_annotations_dir);
  values.out = absl::GetFlag(FLAGS_out);
  values.heatmap = absl::GetFlag(FLAGS_heatmap);
  values.save_cam = absl::GetFlag(FLAGS_save_cam);
  values.dicom_out = absl::GetFlag(FLAGS_dicom_out);
  values.dicom_uid_root = absl::GetFlag(FLAGS_dicom_uid_root);
  values.dicom_voi = absl::GetFlag(FLAGS_dicom_voi);
  values.overlay = absl::GetFlag(FLAGS_overlay);
  values.png_compression = absl::GetFlag(FLAGS_png_compression);
  values.input_pacs = absl::GetFlag(FLAGS_input_pacs);
  values.pacs_study = absl::GetFlag(FLAGS_pacs_study);
  values.pacs_aet = absl::GetFlag(FLAGS_pacs_aet);
  absl::StatusOr<InferOptions> options = ParseInferOptions(values);
  if (!options.ok()) return UsageError("infer", std::string(options.status().message()));
  return RunInfer(*options, stdout, stderr);
}

int Info() {
  absl::StatusOr<ConnectionOptions> options = ParseConnectionOptions(ConnectionFlags());
  if (!options.ok()) return UsageError("info", std::string(options.status().message()));
  return RunInfo(*options, stdout, stderr);
}

int Gallery() {
  gallery::GalleryFlagValues values;
  values.connection = ConnectionFlags();
  const ExplainFlagValues explain = ExplainFlags();
  values.explain.method = explain.method;
  values.explain.thresholds = explain.thresholds;
  values.explain.image_weight = explain.image_weight;
  values.window = absl::GetFlag(FLAGS_window);
  values.input_dir = absl::GetFlag(FLAGS_input_dir);
  values.labels = absl::GetFlag(FLAGS_labels);
  values.annotations_dir = absl::GetFlag(FLAGS_annotations_dir);
  values.out = absl::GetFlag(FLAGS_out);
  values.k = absl::GetFlag(FLAGS_k);
  values.methods = absl::GetFlag(FLAGS_methods);
  absl::StatusOr<gallery::GalleryOptions> options = gallery::ParseGalleryOptions(values);
  if (!options.ok()) return UsageError("gallery", std::string(options.status().message()));
  return gallery::RunGallery(*options, stdout, stderr);
}

int Bench() {
  bench::BenchFlagValues values;
  values.connection = ConnectionFlags();
  values.input_dir = absl::GetFlag(FLAGS_input_dir);
  values.image_size = absl::GetFlag(FLAGS_image_size);
  values.images = absl::GetFlag(FLAGS_images);
  values.write_images = absl::GetFlag(FLAGS_write_images);
  values.seed = absl::GetFlag(FLAGS_seed);
  values.streams = absl::GetFlag(FLAGS_streams);
  values.window = absl::GetFlag(FLAGS_window);
  values.unary = absl::GetFlag(FLAGS_unary);
  values.count = absl::GetFlag(FLAGS_count);
  values.duration = absl::GetFlag(FLAGS_duration);
  values.warmup = absl::GetFlag(FLAGS_warmup);
  values.mode = absl::GetFlag(FLAGS_mode);
  values.method = absl::GetFlag(FLAGS_method);
  values.json = absl::GetFlag(FLAGS_json);
  absl::StatusOr<bench::BenchOptions> options = bench::ParseBenchOptions(values);
  if (!options.ok()) return UsageError("bench", std::string(options.status().message()));
  return bench::RunBench(*options, stdout, stderr);
}

// The usage of `topic`; gallery's and bench's sections live with their libraries.
std::string Usage(const std::string& topic) {
  if (topic == "gallery") return gallery::GalleryUsageText();
  if (topic == "bench") return bench::BenchUsageText();
  if (topic == "infer" || topic == "info") return UsageText(topic);
  return UsageText("") + gallery::GalleryUsageText() + bench::BenchUsageText();
}

int Main(int argc, char** argv) {
  // gRPC core logs a refused TLS handshake as its own "E... Handshake failed" line;
  // the command says in one sentence what was refused instead (channel_security.h).
  // With GRPC_VERBOSITY set, gRPC's logging stays as it is.
  if (std::getenv("GRPC_VERBOSITY") == nullptr) gpr_set_log_function([](gpr_log_func_args*) {});
  std::vector<std::string> args =
      NormalizeFlagSpelling(std::vector<std::string>(argv, argv + argc));
  const bool help_flag = RemoveHelpFlags(args);
  if (absl::Status flags = CheckFlags(args); !flags.ok()) {
    return UsageError("", std::string(flags.message()));
  }
  std::vector<char*> arg_ptrs;
  for (std::string& arg : args) arg_ptrs.push_back(arg.data());
  absl::SetProgramUsageMessage(Usage(""));
  // Exits with Abseil's message (naming the flag) on unknown flags or bad values.
  const std::vector<char*> positional =
      absl::ParseCommandLine(static_cast<int>(arg_ptrs.size()), arg_ptrs.data());

  const std::string command = positional.size() > 1 ? positional[1] : "";
  if (help_flag || command == "help") {
    const std::string topic =
        command == "help" ? (positional.size() > 2 ? positional[2] : "") : command;
    std::fputs(Usage(topic).c_str(), stdout);
    return kExitOk;
  }
  if (command.empty()) {
    std::fputs(Usage("").c_str(), stderr);
    return UsageError("",
                      "missing subcommand (one of: " + absl::StrJoin(CommandNames(), ", ") + ")");
  }
  if (positional.size() > 2) {
    return UsageError(
        command, std::string("unexpected argument '") + positional[2] + "' (flags start with --)");
  }
  if (command == "infer") return Infer();
  if (command == "info") return Info();
  if (command == "gallery") return Gallery();
  if (command == "bench") return Bench();
  return UsageError("", "unknown subcommand '" + command +
                            "' (one of: " + absl::StrJoin(CommandNames(), ", ") + ")");
}

}  // namespace
}  // namespace explainer::client

int main(int argc, char** argv) { return explainer::client::Main(argc, argv); }
