// Options of `explainer gallery`, validated from raw flag values (main.cc owns
// the flags), and its usage text.
#ifndef EXPLAINER_CLIENT_GALLERY_GALLERY_OPTIONS_H_
#define EXPLAINER_CLIENT_GALLERY_GALLERY_OPTIONS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "client/options.h"
#include "explainer/v1/explainer.pb.h"

namespace explainer::client::gallery {

inline constexpr int kMaxK = 20;

struct GalleryFlagValues {
  ConnectionFlagValues connection;
  std::string input_dir;
  std::string labels;
  std::string annotations_dir;
  std::string out;
  int k = 3;
  std::string thresholds = "0.3,0.5,0.7";
  std::string method = "grad-cam";
  double image_weight = 0.5;
  int window = 16;
};

struct GalleryOptions {
  ConnectionOptions connection;
  std::string input_dir;
  std::string labels;           // a CSV file or a folder per class
  std::string annotations_dir;  // empty: no annotation report
  std::string out_dir;
  int k = 3;
  std::vector<float> thresholds;
  explainer::v1::CamMethod method = explainer::v1::CAM_METHOD_GRAD_CAM;
  float image_weight = 0.5f;
  int window = 16;
};

// Every error names the flag, e.g. "--k: must be in [1, 20], got 0".
absl::StatusOr<GalleryOptions> ParseGalleryOptions(const GalleryFlagValues& values);

// The `explainer help gallery` section (flags, label formats, outputs).
const char* GalleryUsageText();

}  // namespace explainer::client::gallery

#endif  // EXPLAINER_CLIENT_GALLERY_GALLERY_OPTIONS_H_
