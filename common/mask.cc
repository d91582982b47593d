// LabelMe shapes -> 0/1 masks with labelme's shape_to_mask rules.
#include "common/mask.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/labelme.h"
#include "common/pil_draw.h"
#include "common/shape_rules.h"
#include "common/status_macros.h"
#include "opencv2/core.hpp"

namespace explainer::common {
namespace {

// labelme's shape_to_mask defaults.
constexpr int kLineWidth = 10;
constexpr double kPointRadius = 5;

// `shape "<label>" (<shape_type>)`: what messages about one shape start with.
std::string ShapeName(const LabelMeShape& shape) {
  return absl::StrCat("shape \"", shape.label, "\" (", shape.shape_type, ")");
}

absl::Status CheckSize(cv::Size size) {
  if (size.width > 0 && size.height > 0) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrFormat("mask size must be positive, got %dx%d", size.width, size.height));
}

// Draws one validated shape into `canvas` (ink 1), as shape_to_mask does with PIL.
void Draw(cv::Mat& canvas, const LabelMeShape& shape) {
  const std::vector<cv::Point2d>& p = shape.points;
  const std::string& type = shape.shape_type;
  if (type == "polygon" || type == "oriented_rectangle") {
    internal::PilPolygon(canvas, p);
  } else if (type == "rectangle") {
    internal::PilRectangle(canvas, p[0], p[1]);
  } else if (type == "circle") {
    const double d =
        std::sqrt((p[0].x - p[1].x) * (p[0].x - p[1].x) + (p[0].y - p[1].y) * (p[0].y - p[1].y));
    internal::PilEllipse(canvas, p[0].x - d, p[0].y - d, p[0].x + d, p[0].y + d);
  } else if (type == "line" || type == "linestrip") {
    internal::PilWideLine(canvas, p, kLineWidth);
  } else if (type == "point") {
    internal::PilEllipse(canvas, p[0].x - kPointRadius, p[0].y - kPointRadius,
                         p[0].x + kPointRadius, p[0].y + kPointRadius);
  }
}

// Draw's cost, bounded from above (see pil_draw.h).
int64_t Work(cv::Size size, const LabelMeShape& shape) {
  const std::vector<cv::Point2d>& p = shape.points;
  const std::string& type = shape.shape_type;
  if (type == "polygon" || type == "oriented_rectangle") {
    return internal::PilPolygonWork(size, p);
  } else if (type == "rectangle") {
    return internal::PilRectangleWork(size, p[0], p[1]);
  } else if (type == "circle") {
    const double d =
        std::sqrt((p[0].x - p[1].x) * (p[0].x - p[1].x) + (p[0].y - p[1].y) * (p[0].y - p[1].y));
    return internal::PilEllipseWork(size, p[0].x - d, p[0].y - d, p[0].x + d, p[0].y + d);
  } else if (type == "line" || type == "linestrip") {
    return internal::PilWideLineWork(size, p, kLineWidth);
  } else if (type == "point") {
    return internal::PilEllipseWork(size, p[0].x - kPointRadius, p[0].y - kPointRadius,
                                    p[0].x + kPointRadius, p[0].y + kPointRadius);
  }
  return 0;
}

absl::Status Validate(const LabelMeShape& shape) {
  EXPLAINER_RETURN_IF_ERROR(internal::CheckShapeType(shape.shape_type), ShapeName(shape));
  EXPLAINER_RETURN_IF_ERROR(internal::CheckPointCount(shape.shape_type, shape.points.size()),
                            ShapeName(shape));
  for (size_t i = 0; i < shape.points.size(); ++i) {
    if (!std::isfinite(shape.points[i].x) || !std::isfinite(shape.points[i].y)) {
      return absl::InvalidArgumentError(
          absl::StrCat(ShapeName(shape), ": points[", i, "] is not a finite number"));
    }
  }
  return absl::OkStatus();
}

bool Keeps(const std::vector<std::string>& allowed, const std::string& value) {
  return allowed.empty() || std::find(allowed.begin(), allowed.end(), value) != allowed.end();
}

}  // namespace

absl::StatusOr<cv::Mat> ShapeToMask(cv::Size image_size, const LabelMeShape& shape) {
  EXPLAINER_RETURN_IF_ERROR(CheckSize(image_size));
  EXPLAINER_RETURN_IF_ERROR(Validate(shape));
  cv::Mat mask = cv::Mat::zeros(image_size, CV_8UC1);
  Draw(mask, shape);
  return mask;
}

absl::StatusOr<AnnotationMask> RasterizeAnnotation(const LabelMeAnnotation& annotation,
                                                   cv::Size image_size, const ShapeFilter& filter,
                                                   const AnnotationLimits& limits) {
  EXPLAINER_RETURN_IF_ERROR(CheckSize(image_size));
  const bool height_differs =
      annotation.image_height > 0 && annotation.image_height != image_size.height;
  const bool width_differs =
      annotation.image_width > 0 && annotation.image_width != image_size.width;
  if (height_differs || width_differs) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "annotation is for a %dx%d image (imageWidth x imageHeight) but the image is %dx%d",
        annotation.image_width, annotation.image_height, image_size.width, image_size.height));
  }
  // Everything is checked, and the work counted, before anything is drawn.
  std::vector<const LabelMeShape*> kept;
  int64_t work = 0;
  for (size_t i = 0; i < annotation.shapes.size(); ++i) {
    const LabelMeShape& shape = annotation.shapes[i];
    if (!Keeps(filter.labels, shape.label) || !Keeps(filter.shape_types, shape.shape_type)) {
      continue;
    }
    EXPLAINER_RETURN_IF_ERROR(Validate(shape), "shapes[", i, "]");
    // Saturates instead of overflowing (each term is far below 2^62).
    work = std::min(work + Work(image_size, shape), int64_t{1} << 62);
    kept.push_back(&shape);
  }
  if (work > limits.max_raster_work) {
    return absl::ResourceExhaustedError(
        absl::StrFormat("rasterising it at %dx%d costs %d work units, over the limit of %d "
                        "(--max_annotation_raster_work)",
                        image_size.width, image_size.height, work, limits.max_raster_work));
  }
  AnnotationMask result;
  result.mask = cv::Mat::zeros(image_size, CV_8UC1);
  // Drawing every shape with ink 1 on one canvas is the union of their masks.
  for (const LabelMeShape* shape : kept) Draw(result.mask, *shape);
  result.shape_count = static_cast<int>(kept.size());
  return result;
}

}  // namespace explainer::common
