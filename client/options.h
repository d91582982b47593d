// Options of the `explainer` subcommands, validated from raw flag values.
//
// Flags (ABSL_FLAG) live only in main.cc; it copies their values into the *FlagValues
// structs below once, and these functions turn them into checked Options. Keeping
// the checks here, away from the global flags, lets unit tests cover every bad value.
#ifndef EXPLAINER_CLIENT_OPTIONS_H_
#define EXPLAINER_CLIENT_OPTIONS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "client/channel_security.h"
#include "client/dicom_pacs.h"
#include "explainer/v1/explainer.pb.h"

namespace explainer::client {

// How to reach the server; shared by every subcommand.
struct ConnectionFlagValues {
  std::string server;
  absl::Duration connect_timeout;
  absl::Duration deadline;
  int max_message_mb = 64;
  std::string lb;  // --lb: "", "pick_first" or "round_robin"
  ChannelSecurityFlagValues security;  // --tls, --tls-ca, ..., --token-file
};

struct ConnectionOptions {
  std::string server;  // host:port
  absl::Duration connect_timeout = absl::Seconds(10);
  // Unary calls: the call deadline. Streams: each image must be answered within
  // this time of being sent.
  absl::Duration deadline = absl::Seconds(60);
  int max_message_bytes = 64 * 1024 * 1024;  // send and receive
  // gRPC load balancing policy; empty: gRPC's default (pick_first). With
  // "round_robin", infer spreads items over streams (balanced_explainer.h).
  std::string lb_policy;
  ChannelSecurity security;  // TLS and token (channel_security.h)
  // Unary calls refused with RESOURCE_EXHAUSTED (a busy server) are tried up to this
  // many times in all, with exponential backoff from retry_backoff (with jitter).
  int max_attempts = 5;
  absl::Duration retry_backoff = absl::Milliseconds(200);
};

// What every request of a run asks the server for, shared by infer and gallery
// (gallery fills only method, thresholds and image_weight).
struct ExplainFlagValues {
  std::string method = "grad-cam";
  bool aug_smooth = false;
  bool eigen_smooth = false;
  std::string faithfulness;  // "", or a list of cam-multiply, road
  std::string road_percentiles;  // "", or a list such as 20,40,60,80
  int64_t road_seed = 0;
  std::string target_class;
  std::string thresholds = "0.3,0.5,0.7";
  double image_weight = 0.5;
};

struct ExplainSettings {
  explainer::v1::CamMethod method = explainer::v1::CAM_METHOD_GRAD_CAM;
  bool aug_smooth = false;    // pytorch-grad-cam aug_smooth
  bool eigen_smooth = false;  // pytorch-grad-cam eigen_smooth
  bool cam_multiply = false;  // faithfulness: CAM-multiply confidence change
  bool road = false;          // faithfulness: ROAD (MoRF, LeRF, combined)
  // ROAD's percentiles, each in (0, 100); empty: the server's 10, 20, ..., 90.
  std::vector<float> road_percentiles;
  uint64_t road_seed = 0;  // the imputer's noise, as torch.manual_seed(road_seed)
  // As given (index or class name); resolved against the model's classes once
  // the server has said which it has (Session::RequestOptions).
  std::optional<std::string> target_class;
  std::vector<float> thresholds = {0.3f, 0.5f, 0.7f};
  float image_weight = 0.5f;
};

struct InferFlagValues {
  ConnectionFlagValues connection;
  ExplainFlagValues explain;
  int window = 16;
  std::string image;
  std::string input_dir;
  std::string annotations_dir;
  std::string out;
  bool heatmap = false;
  bool save_cam = false;
  std::string dicom_out;
  std::string dicom_uid_root;
  std::string dicom_voi;
  std::string overlay = "client";  // --overlay: client or server
  int png_compression = -1;        // --png-compression
  std::string input_pacs;  // AET@HOST:PORT
  std::string pacs_study;  // UID[,UID...]
  std::string pacs_aet;    // ours; empty: EXPLAINER
};

struct InferOptions {
  ConnectionOptions connection;
  ExplainSettings explain;
  int window = 16;  // requests in flight on the stream
  std::string image;  // exactly one of image / input_dir is set
  std::string input_dir;
  std::string annotations_dir;  // empty: no annotations
  std::string out_dir;
  bool heatmap = false;
  bool save_cam = false;
  // --dicom-out: for DICOM inputs, a Secondary Capture overlay and an SR per image
  // (client/dicom_output.h); empty: none. UIDs under dicom_uid_root (empty: DCMTK's).
  std::string dicom_out;
  std::string dicom_uid_root;
  // --dicom-voi: the VOI transform of DICOM inputs (client/dicom_voi_flag.h); unset:
  // the file's own.
  explainer::v1::DicomVoi dicom_voi;
  // --overlay=server: the server renders the overlay and sends its PNG. Default: it
  // sends the float32 heatmap and the client renders the same overlay from the file
  // (client/overlay_render.h), which spares the server its costliest step.
  bool server_overlay = false;
  int png_compression = -1;  // of the overlays the client renders: -1 fast, 0..9 zlib
  // --input-pacs: the input is these studies, pulled by C-GET into <out>/pacs_input
  // (client/dicom_pacs.h); image and input_dir are then empty.
  std::optional<PacsSource> input_pacs;
};

absl::StatusOr<ConnectionOptions> ParseConnectionOptions(const ConnectionFlagValues& values);

// Every error names the flag, e.g. "--thresholds: 1.5 is outside [0, 1]".
absl::StatusOr<ExplainSettings> ParseExplainSettings(const ExplainFlagValues& values);
absl::StatusOr<InferOptions> ParseInferOptions(const InferFlagValues& values);

// --window: requests in flight on one stream, in [1, 1024].
absl::StatusOr<int> ParseWindow(int window);

// "0.3,0.5,0.7" -> {0.3, 0.5, 0.7}: non-empty, each in [0, 1], no repeats.
absl::StatusOr<std::vector<float>> ParseThresholds(absl::string_view text);

// --road-percentiles "20,40,60" -> {20, 40, 60}, each in (0, 100); "" -> none.
absl::StatusOr<std::vector<float>> ParseRoadPercentiles(absl::string_view text);

// "grad-cam" (also "gradcam", "grad_cam", any case) -> CAM_METHOD_GRAD_CAM.
absl::StatusOr<explainer::v1::CamMethod> ParseCamMethod(absl::string_view text);

// A class index ("2") or name ("Malignant", any case) -> index into class_names.
absl::StatusOr<int> ResolveTargetClass(absl::string_view spec,
                                       const std::vector<std::string>& class_names);

// The user-facing name of a method: CAM_METHOD_GRAD_CAM -> "grad-cam".
std::string CamMethodName(explainer::v1::CamMethod method);

}  // namespace explainer::client

#endif  // EXPLAINER_CLIENT_OPTIONS_H_
