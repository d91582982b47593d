// Rasterising LabelMe shapes with labelme's own shape_to_mask rules (PIL ImageDraw
// semantics: boundaries included, line width 10, point radius 5).
#ifndef EXPLAINER_COMMON_MASK_H_
#define EXPLAINER_COMMON_MASK_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/labelme.h"
#include "opencv2/core.hpp"

namespace explainer::common {

// Keeps only shapes whose label / shape_type is listed; an empty list keeps all.
struct ShapeFilter {
  std::vector<std::string> labels;
  std::vector<std::string> shape_types;
};

// One shape as a CV_8UC1 0/1 mask of `image_size`. Points outside the image are
// clipped. InvalidArgument for "mask" and unknown types and wrong point counts.
absl::StatusOr<cv::Mat> ShapeToMask(cv::Size image_size, const LabelMeShape& shape);

struct AnnotationMask {
  cv::Mat mask;         // CV_8UC1, 0/1, image_size
  int shape_count = 0;  // shapes that passed the filter
};

// Union of the filtered shapes. InvalidArgument when the annotation's
// imageHeight/imageWidth are given and disagree with image_size, or a shape is
// invalid. ResourceExhausted, before anything is drawn, when drawing the shapes at
// image_size would cost more than limits.max_raster_work: about one unit per pixel
// of each shape's bounding box (clipped to the image) plus one per row each polygon
// edge spans, plus one per step of a circle's outline walk (pil_draw.h).
absl::StatusOr<AnnotationMask> RasterizeAnnotation(const LabelMeAnnotation& annotation,
                                                   cv::Size image_size,
                                                   const ShapeFilter& filter = {},
                                                   const AnnotationLimits& limits = {});

}  // namespace explainer::common

#endif  // EXPLAINER_COMMON_MASK_H_
