// LabelMe annotation files (labelme 3.x-5.x JSON) parsed into plain structs.
#ifndef EXPLAINER_COMMON_LABELME_H_
#define EXPLAINER_COMMON_LABELME_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "opencv2/core.hpp"

namespace explainer::common {

struct LabelMeShape {
  std::string label;
  std::vector<cv::Point2d> points;
  std::optional<int> group_id;
  std::string shape_type = "polygon";  // labelme's default when absent or null
  std::string description;
};

struct LabelMeAnnotation {
  std::string version;
  std::string image_path;
  int image_height = 0;  // 0 when the file does not say
  int image_width = 0;
  std::vector<LabelMeShape> shapes;
};

// Parses the JSON text. imageData is ignored (never decoded). InvalidArgument with
// the offending field (e.g. "shapes[3].points[1]: not a finite number") for
// malformed JSON, missing or mistyped fields, non-finite numbers and point counts
// that the shape type does not allow. Unknown shape types are rejected here too.
absl::StatusOr<LabelMeAnnotation> ParseLabelMe(absl::string_view json);

}  // namespace explainer::common

#endif  // EXPLAINER_COMMON_LABELME_H_
