// LabelMe annotation files (labelme 3.x-5.x JSON) parsed into plain structs.
#ifndef EXPLAINER_COMMON_LABELME_H_
#define EXPLAINER_COMMON_LABELME_H_

#include <cstdint>
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

// JSON deeper than this is refused while parsing (a LabelMe file is 4 levels deep:
// root, shapes, shape, points, point).
inline constexpr int kMaxLabelMeJsonDepth = 32;

// What one annotation may cost, checked before the work it bounds (parsing,
// rasterising). Each limit gives ResourceExhausted naming the value, the limit and
// the server flag that sets it, e.g. "500000 points, over the limit of 100000
// (--max_annotation_points)".
struct AnnotationLimits {
  int64_t max_bytes = 16LL * 1024 * 1024;  // JSON text (imageData included)
  int64_t max_shapes = 1000;
  int64_t max_points = 100000;  // over all shapes
  // Rasterising work at the image's resolution, in the units of RasterWork()
  // (mask.h): about one unit per pixel written or polygon edge visited on a row.
  int64_t max_raster_work = 1LL << 30;
};

// Parses the JSON text. imageData is ignored (never decoded, not even kept).
// InvalidArgument with the offending field (e.g. "shapes[3].points[1]: not a finite
// number") for malformed JSON (with the byte offset; invalid UTF-8 is shown escaped,
// "\xff"), JSON nested deeper than kMaxLabelMeJsonDepth, missing or mistyped fields,
// non-finite numbers and point counts that the shape type does not allow. Unknown
// shape types are rejected here too. ResourceExhausted when the text, the shape count
// or the point count is over `limits`; parsing keeps no more than the limits allow,
// so a hostile file cannot make it allocate much more than its own size.
absl::StatusOr<LabelMeAnnotation> ParseLabelMe(absl::string_view json,
                                               const AnnotationLimits& limits = {});

}  // namespace explainer::common

#endif  // EXPLAINER_COMMON_LABELME_H_
