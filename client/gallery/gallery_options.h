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
  ExplainFlagValues explain;  // gallery sets method, thresholds and image_weight
  int window = 16;
  std::string input_dir;
  std::string labels;
  std::string annotations_dir;
  std::string out;
  int k = 3;
  std::string methods;  // --methods: "", or a list compared with --method
};

struct GalleryOptions {
  ConnectionOptions connection;
  ExplainSettings explain;
  int window = 16;  // requests in flight on each pass's stream
  std::string input_dir;
  std::string labels;           // a CSV file or a folder per class
  std::string annotations_dir;  // empty: no annotation report
  std::string out_dir;
  int k = 3;
  // --methods: the methods compared against the annotations, explain.method first
  // (method_comparison.h); empty: no comparison.
  std::vector<explainer::v1::CamMethod> compared_methods;
};

// Every error names the flag, e.g. "--k: must be in [1, 20], got 0".
absl::StatusOr<GalleryOptions> ParseGalleryOptions(const GalleryFlagValues& values);

// The `explainer help gallery` section (flags, label formats, outputs).
const char* GalleryUsageText();

}  // namespace explainer::client::gallery

#endif  // EXPLAINER_CLIENT_GALLERY_GALLERY_OPTIONS_H_
