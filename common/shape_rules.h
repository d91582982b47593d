// Internal: which LabelMe shape types we rasterise and how many points each needs
// (labelme's own rules), shared by the parser and the rasteriser.
#ifndef EXPLAINER_COMMON_SHAPE_RULES_H_
#define EXPLAINER_COMMON_SHAPE_RULES_H_

#include <cstddef>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace explainer::common::internal {

// OK for polygon, rectangle, circle, line, linestrip, point, oriented_rectangle.
// "mask" (labelme's bitmap masks) gets its own message. Messages carry no field
// path: callers prefix one.
absl::Status CheckShapeType(absl::string_view shape_type);

// OK when a supported `shape_type` has a point count labelme accepts: polygon >= 3,
// rectangle 2, circle 2 (centre, rim), line 2, linestrip >= 2, point 1,
// oriented_rectangle 4.
absl::Status CheckPointCount(absl::string_view shape_type, size_t point_count);

}  // namespace explainer::common::internal

#endif  // EXPLAINER_COMMON_SHAPE_RULES_H_
