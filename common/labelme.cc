// LabelMe JSON -> LabelMeAnnotation, with every rejected field named by its path.
#include "common/labelme.h"

#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "common/shape_rules.h"
#include "common/status_macros.h"
#include "nlohmann/json.hpp"

namespace explainer::common {
namespace {

using Json = nlohmann::json;

absl::Status FieldError(absl::string_view path, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(path, ": ", what));
}

absl::Status Mistyped(absl::string_view path, absl::string_view expected, const Json& value) {
  return FieldError(path, absl::StrCat("expected ", expected, ", got ", value.type_name()));
}

// nlohmann prefixes its messages with "[json.exception.parse_error.101] ".
std::string WithoutExceptionId(const char* what) {
  absl::string_view text(what);
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find("] ");
    if (close != absl::string_view::npos) text.remove_prefix(close + 2);
  }
  return std::string(text);
}

// Absent and null leave *out unchanged (labelme writes null for unset strings).
absl::Status ReadOptionalString(const Json& object, const char* key, absl::string_view path,
                                std::string* out) {
  const auto it = object.find(key);
  if (it == object.end() || it->is_null()) return absl::OkStatus();
  if (!it->is_string()) return Mistyped(path, "a string or null", *it);
  *out = it->get<std::string>();
  return absl::OkStatus();
}

absl::Status CheckOptionalObject(const Json& object, const char* key, absl::string_view path) {
  const auto it = object.find(key);
  if (it == object.end() || it->is_null() || it->is_object()) return absl::OkStatus();
  return Mistyped(path, "an object or null", *it);
}

// An integral JSON number as int, when it is one and fits.
std::optional<int> AsInt(const Json& value) {
  if (value.is_number_unsigned()) {
    const uint64_t u = value.get<uint64_t>();
    if (u <= static_cast<uint64_t>(std::numeric_limits<int>::max())) return static_cast<int>(u);
  } else if (value.is_number_integer()) {
    const int64_t s = value.get<int64_t>();
    if (s >= std::numeric_limits<int>::min() && s <= std::numeric_limits<int>::max()) {
      return static_cast<int>(s);
    }
  }
  return std::nullopt;
}

// imageHeight / imageWidth: absent or null give 0 ("not stated").
absl::Status ReadImageDimension(const Json& root, const char* key, int* out) {
  const auto it = root.find(key);
  if (it == root.end() || it->is_null()) return absl::OkStatus();
  const std::optional<int> value = AsInt(*it);
  if (!value.has_value() || *value <= 0) {
    return FieldError(key,
                      absl::StrCat("expected a positive integer, got ", it->dump().substr(0, 40)));
  }
  *out = *value;
  return absl::OkStatus();
}

absl::StatusOr<cv::Point2d> ReadPoint(const Json& value, const std::string& path) {
  if (!value.is_array() || value.size() != 2 || !value[0].is_number() || !value[1].is_number()) {
    return FieldError(
        path, absl::StrCat("expected [x, y] with two numbers, got ", value.dump().substr(0, 60)));
  }
  const cv::Point2d point(value[0].get<double>(), value[1].get<double>());
  if (!std::isfinite(point.x) || !std::isfinite(point.y)) {
    return FieldError(path, "not a finite number");
  }
  return point;
}

absl::StatusOr<LabelMeShape> ReadShape(const Json& value, const std::string& path) {
  if (!value.is_object()) return Mistyped(path, "an object", value);
  LabelMeShape shape;

  const auto label = value.find("label");
  if (label == value.end()) return FieldError(path + ".label", "missing");
  if (!label->is_string()) return Mistyped(path + ".label", "a string", *label);
  shape.label = label->get<std::string>();

  RETURN_IF_ERROR(ReadOptionalString(value, "shape_type", path + ".shape_type", &shape.shape_type));
  if (absl::Status status = internal::CheckShapeType(shape.shape_type); !status.ok()) {
    return FieldError(path + ".shape_type", status.message());
  }

  const auto points = value.find("points");
  if (points == value.end()) return FieldError(path + ".points", "missing");
  if (!points->is_array()) return Mistyped(path + ".points", "an array of [x, y]", *points);
  for (size_t i = 0; i < points->size(); ++i) {
    ASSIGN_OR_RETURN(const cv::Point2d point,
                     ReadPoint((*points)[i], absl::StrCat(path, ".points[", i, "]")));
    shape.points.push_back(point);
  }
  if (absl::Status status = internal::CheckPointCount(shape.shape_type, shape.points.size());
      !status.ok()) {
    return FieldError(path + ".points", status.message());
  }

  const auto group_id = value.find("group_id");
  if (group_id != value.end() && !group_id->is_null()) {
    shape.group_id = AsInt(*group_id);
    if (!shape.group_id.has_value()) {
      return FieldError(path + ".group_id", absl::StrCat("expected an integer or null, got ",
                                                         group_id->dump().substr(0, 40)));
    }
  }
  RETURN_IF_ERROR(
      ReadOptionalString(value, "description", path + ".description", &shape.description));
  RETURN_IF_ERROR(CheckOptionalObject(value, "flags", path + ".flags"));
  // "mask" (null except on mask shapes, rejected above) and unknown keys are ignored.
  return shape;
}

}  // namespace

absl::StatusOr<LabelMeAnnotation> ParseLabelMe(absl::string_view text) {
  Json root;
  try {
    root = Json::parse(text.begin(), text.end());
  } catch (const Json::out_of_range& e) {
    // nlohmann refuses numbers that overflow a double (1e999) while parsing.
    return absl::InvalidArgumentError(
        absl::StrCat("LabelMe JSON has a non-finite number: ", WithoutExceptionId(e.what())));
  } catch (const Json::exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat("LabelMe JSON is malformed: ", WithoutExceptionId(e.what())));
  }
  if (!root.is_object()) {
    return absl::InvalidArgumentError(
        absl::StrCat("LabelMe JSON must be an object, got ", root.type_name()));
  }
  LabelMeAnnotation annotation;
  RETURN_IF_ERROR(ReadOptionalString(root, "version", "version", &annotation.version));
  RETURN_IF_ERROR(ReadOptionalString(root, "imagePath", "imagePath", &annotation.image_path));
  RETURN_IF_ERROR(CheckOptionalObject(root, "flags", "flags"));
  RETURN_IF_ERROR(ReadImageDimension(root, "imageHeight", &annotation.image_height));
  RETURN_IF_ERROR(ReadImageDimension(root, "imageWidth", &annotation.image_width));
  // imageData (base64 of the image) is deliberately never read.

  const auto shapes = root.find("shapes");
  if (shapes == root.end()) return FieldError("shapes", "missing");
  if (!shapes->is_array()) return Mistyped("shapes", "an array", *shapes);
  annotation.shapes.reserve(shapes->size());
  for (size_t i = 0; i < shapes->size(); ++i) {
    ASSIGN_OR_RETURN(LabelMeShape shape, ReadShape((*shapes)[i], absl::StrCat("shapes[", i, "]")));
    annotation.shapes.push_back(std::move(shape));
  }
  return annotation;
}

}  // namespace explainer::common
