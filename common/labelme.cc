// LabelMe JSON -> LabelMeAnnotation, with every rejected field named by its path.
#include "common/labelme.h"

#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "common/shape_rules.h"
#include "common/status_macros.h"
#include "common/utf8.h"
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

// Short, bounded descriptions of values for messages. Never dump() a value: it
// recurses (a deeply nested value would overflow the stack) and is unbounded.
std::string Describe(const Json& value) {
  if (value.is_string()) {
    const std::string& text = value.get_ref<const std::string&>();
    constexpr size_t kMax = 24;
    return absl::StrCat("\"", absl::CHexEscape(absl::string_view(text).substr(0, kMax)),
                        text.size() > kMax ? "...\"" : "\"");
  }
  if (value.is_array()) return "an array";
  if (value.is_object()) return "an object";
  return value.dump();  // null, boolean or number: one token, no recursion
}

// A point's array as its first elements ("[2]", "[1, \"a\", ...]"); the parser keeps
// at most kPointElementsKept of them.
constexpr size_t kPointElementsKept = 4;
std::string DescribePoint(const Json& value) {
  if (!value.is_array()) return Describe(value);
  std::string out = "[";
  for (size_t i = 0; i < value.size() && i + 1 < kPointElementsKept; ++i) {
    absl::StrAppend(&out, i == 0 ? "" : ", ", Describe(value[i]));
  }
  absl::StrAppend(&out, value.size() >= kPointElementsKept ? ", ...]" : "]");
  return out;
}

// nlohmann prefixes its messages with "[json.exception.parse_error.101] ".
absl::string_view WithoutExceptionId(absl::string_view text) {
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find("] ");
    if (close != absl::string_view::npos) text.remove_prefix(close + 2);
  }
  return text;
}

// A nlohmann::json SAX handler that builds the document LabelMe needs and no more:
// it refuses nesting deeper than kMaxLabelMeJsonDepth before the parser goes deeper,
// counts shapes and points, keeps only the fields ParseLabelMe reads (imageData and
// unknown keys are dropped; containers where a scalar belongs are kept empty, for
// the type error), stops keeping shapes and points past their limits, and turns
// parse errors into messages that name the field and are valid UTF-8.
class LabelMeSax {
 public:
  LabelMeSax(absl::string_view text, const AnnotationLimits& limits)
      : text_(text), limits_(limits) {}

  Json& root() { return root_; }
  const absl::Status& error() const { return error_; }
  int64_t shapes() const { return shapes_; }
  int64_t points() const { return points_; }

  // The SAX interface (nlohmann/detail/input/json_sax.hpp).
  bool null() { return Scalar(Json(nullptr)); }
  bool boolean(bool value) { return Scalar(Json(value)); }
  bool number_integer(Json::number_integer_t value) { return Scalar(Json(value)); }
  bool number_unsigned(Json::number_unsigned_t value) { return Scalar(Json(value)); }
  bool number_float(Json::number_float_t value, const std::string& /*text*/) {
    return Scalar(Json(value));
  }
  bool string(std::string& value) {
    Json* slot = Begin(/*array=*/false).slot;
    if (slot != nullptr) *slot = std::move(value);
    End();
    return true;
  }
  bool binary(Json::binary_t& /*value*/) { return Scalar(Json(nullptr)); }  // not in text JSON
  bool start_object(size_t /*elements*/) { return Open(/*array=*/false); }
  bool start_array(size_t /*elements*/) { return Open(/*array=*/true); }
  bool key(std::string& key) {
    Frame& frame = frames_.back();
    frame.key = std::move(key);
    frame.awaiting_key = false;
    return true;
  }
  bool end_object() { return Close(); }
  bool end_array() { return Close(); }
  bool parse_error(size_t position, const std::string& /*last_token*/, const Json::exception& e) {
    const std::string path = Path();
    const std::string where = path.empty() ? "" : absl::StrCat(" (in ", path, ")");
    // nlohmann's text quotes the bytes it read last, which may be anything.
    const std::string what = ToValidUtf8(WithoutExceptionId(e.what()), 300);
    if (e.id == 406) {  // a number that overflows a double (1e999)
      error_ = absl::InvalidArgumentError(
          absl::StrCat("LabelMe JSON has a non-finite number: ", what, where));
    } else if (absl::string_view(e.what()).find("UTF-8") != absl::string_view::npos) {
      // `position` counts the bytes read, the offending one included.
      const size_t offset = position > 0 ? position - 1 : 0;
      const std::string byte =
          offset < text_.size() ? ToValidUtf8(text_.substr(offset, 1)) : std::string("end");
      error_ = absl::InvalidArgumentError(
          absl::StrCat(path.empty() ? "LabelMe JSON" : path, ": invalid UTF-8 (byte ", byte,
                       " at offset ", offset, "); every string must be UTF-8: ", what));
    } else {
      error_ = absl::InvalidArgumentError(absl::StrCat("LabelMe JSON is malformed: ", what, where));
    }
    return false;
  }

 private:
  enum class Role {
    kRoot,     // the top-level object
    kShapes,   // root.shapes
    kShape,    // root.shapes[i]
    kPoints,   // root.shapes[i].points
    kPoint,    // root.shapes[i].points[j]
    kEmptied,  // kept, but its elements are dropped (a container where a scalar belongs)
    kDropped,  // not kept at all
  };
  struct Frame {
    Role role;
    bool is_array;
    Json* node;           // where it is built; nullptr when dropped
    size_t elements = 0;  // elements begun so far
    std::string key;      // objects: the last key read
    bool awaiting_key = true;
  };
  struct Place {
    Json* slot;  // nullptr: drop the value
    Role role;   // the role of a container that opens there
  };

  // Where the value that begins now goes, and which role it has if it is a container.
  Place Begin(bool array) {
    if (frames_.empty()) return {&root_, array ? Role::kEmptied : Role::kRoot};
    Frame& parent = frames_.back();
    const size_t index = parent.elements++;
    const std::string& key = parent.key;
    bool keep = false;
    Role role = Role::kEmptied;
    switch (parent.role) {
      case Role::kRoot:
        keep = key == "shapes" || key == "version" || key == "imagePath" || key == "flags" ||
               key == "imageHeight" || key == "imageWidth";
        if (key == "shapes" && array) role = Role::kShapes;
        break;
      case Role::kShapes:
        keep = ++shapes_ <= limits_.max_shapes;
        if (!array) role = Role::kShape;
        break;
      case Role::kShape:
        keep = key == "label" || key == "points" || key == "shape_type" || key == "group_id" ||
               key == "description" || key == "flags";
        if (key == "points" && array) role = Role::kPoints;
        break;
      case Role::kPoints:
        keep = ++points_ <= limits_.max_points;
        if (array) role = Role::kPoint;
        break;
      case Role::kPoint:
        keep = index < kPointElementsKept;  // enough to say "not [x, y]"
        break;
      case Role::kEmptied:
      case Role::kDropped:
        break;
    }
    if (!keep || parent.node == nullptr) return {nullptr, Role::kDropped};
    if (parent.is_array) return {&parent.node->emplace_back(nullptr), role};
    return {&(*parent.node)[key], role};
  }

  // A value is complete: its parent, if an object, expects a key next.
  void End() {
    if (!frames_.empty()) frames_.back().awaiting_key = true;
  }

  bool Scalar(Json value) {
    Json* slot = Begin(/*array=*/false).slot;
    if (slot != nullptr) *slot = std::move(value);
    End();
    return true;
  }

  bool Open(bool array) {
    if (frames_.size() >= static_cast<size_t>(kMaxLabelMeJsonDepth)) {
      error_ = absl::InvalidArgumentError(absl::StrCat("LabelMe JSON is nested deeper than ",
                                                       kMaxLabelMeJsonDepth, " levels (at ", Path(),
                                                       ")"));
      return false;  // stops the parser before it goes deeper
    }
    const Place place = Begin(array);
    if (place.slot != nullptr) *place.slot = array ? Json::array() : Json::object();
    frames_.push_back(Frame{place.role, array, place.slot});
    return true;
  }

  bool Close() {
    frames_.pop_back();
    End();
    return true;
  }

  // The field being read, e.g. "shapes[2].points[7]".
  std::string Path() const {
    std::string path;
    for (const Frame& frame : frames_) {
      if (frame.is_array) {
        if (frame.elements == 0) break;
        absl::StrAppend(&path, "[", frame.elements - 1, "]");
      } else {
        if (frame.awaiting_key) break;
        absl::StrAppend(&path, path.empty() ? "" : ".",
                        absl::CHexEscape(absl::string_view(frame.key).substr(0, 40)));
      }
    }
    return path;
  }

  const absl::string_view text_;
  const AnnotationLimits limits_;
  Json root_;
  std::vector<Frame> frames_;
  int64_t shapes_ = 0;
  int64_t points_ = 0;
  absl::Status error_;
};

absl::Status OverLimit(int64_t value, absl::string_view what, int64_t limit,
                       absl::string_view flag) {
  return absl::ResourceExhaustedError(
      absl::StrCat(value, " ", what, ", over the limit of ", limit, " (--", flag, ")"));
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
    return FieldError(key, absl::StrCat("expected a positive integer, got ", Describe(*it)));
  }
  *out = *value;
  return absl::OkStatus();
}

absl::StatusOr<cv::Point2d> ReadPoint(const Json& value, const std::string& path) {
  if (!value.is_array() || value.size() != 2 || !value[0].is_number() || !value[1].is_number()) {
    return FieldError(path,
                      absl::StrCat("expected [x, y] with two numbers, got ", DescribePoint(value)));
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

  EXPLAINER_RETURN_IF_ERROR(ReadOptionalString(value, "shape_type", path + ".shape_type", &shape.shape_type));
  EXPLAINER_RETURN_IF_ERROR(internal::CheckShapeType(shape.shape_type), path, ".shape_type");

  const auto points = value.find("points");
  if (points == value.end()) return FieldError(path + ".points", "missing");
  if (!points->is_array()) return Mistyped(path + ".points", "an array of [x, y]", *points);
  for (size_t i = 0; i < points->size(); ++i) {
    EXPLAINER_ASSIGN_OR_RETURN(const cv::Point2d point,
                     ReadPoint((*points)[i], absl::StrCat(path, ".points[", i, "]")));
    shape.points.push_back(point);
  }
  EXPLAINER_RETURN_IF_ERROR(internal::CheckPointCount(shape.shape_type, shape.points.size()),
                            path, ".points");

  const auto group_id = value.find("group_id");
  if (group_id != value.end() && !group_id->is_null()) {
    shape.group_id = AsInt(*group_id);
    if (!shape.group_id.has_value()) {
      return FieldError(path + ".group_id",
                        absl::StrCat("expected an integer or null, got ", Describe(*group_id)));
    }
  }
  EXPLAINER_RETURN_IF_ERROR(
      ReadOptionalString(value, "description", path + ".description", &shape.description));
  EXPLAINER_RETURN_IF_ERROR(CheckOptionalObject(value, "flags", path + ".flags"));
  // "mask" (null except on mask shapes, rejected above) and unknown keys are ignored.
  return shape;
}

}  // namespace

absl::StatusOr<LabelMeAnnotation> ParseLabelMe(absl::string_view text,
                                               const AnnotationLimits& limits) {
  if (static_cast<int64_t>(text.size()) > limits.max_bytes) {
    return OverLimit(static_cast<int64_t>(text.size()), "bytes", limits.max_bytes,
                     "max_annotation_bytes");
  }
  LabelMeSax sax(text, limits);
  if (!Json::sax_parse(text.begin(), text.end(), &sax)) {
    if (!sax.error().ok()) return sax.error();
    return absl::InternalError("LabelMe JSON parser stopped without saying why");
  }
  if (sax.shapes() > limits.max_shapes) {
    return OverLimit(sax.shapes(), "shapes", limits.max_shapes, "max_annotation_shapes");
  }
  if (sax.points() > limits.max_points) {
    return OverLimit(sax.points(), "points", limits.max_points, "max_annotation_points");
  }
  const Json& root = sax.root();
  if (!root.is_object()) {
    return absl::InvalidArgumentError(
        absl::StrCat("LabelMe JSON must be an object, got ", root.type_name()));
  }
  LabelMeAnnotation annotation;
  EXPLAINER_RETURN_IF_ERROR(ReadOptionalString(root, "version", "version", &annotation.version));
  EXPLAINER_RETURN_IF_ERROR(ReadOptionalString(root, "imagePath", "imagePath", &annotation.image_path));
  EXPLAINER_RETURN_IF_ERROR(CheckOptionalObject(root, "flags", "flags"));
  EXPLAINER_RETURN_IF_ERROR(ReadImageDimension(root, "imageHeight", &annotation.image_height));
  EXPLAINER_RETURN_IF_ERROR(ReadImageDimension(root, "imageWidth", &annotation.image_width));
  // imageData (base64 of the image) is deliberately never read.

  const auto shapes = root.find("shapes");
  if (shapes == root.end()) return FieldError("shapes", "missing");
  if (!shapes->is_array()) return Mistyped("shapes", "an array", *shapes);
  annotation.shapes.reserve(shapes->size());
  for (size_t i = 0; i < shapes->size(); ++i) {
    EXPLAINER_ASSIGN_OR_RETURN(LabelMeShape shape, ReadShape((*shapes)[i], absl::StrCat("shapes[", i, "]")));
    annotation.shapes.push_back(std::move(shape));
  }
  return annotation;
}

}  // namespace explainer::common
