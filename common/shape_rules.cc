// Supported LabelMe shape types and their point counts.
#include "common/shape_rules.h"

#include <cstddef>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"

namespace explainer::common::internal {
namespace {

struct Rule {
  absl::string_view type;
  size_t points;
  bool exact;  // exactly `points`, or at least
};

constexpr Rule kRules[] = {
    {"polygon", 3, false},
    {"rectangle", 2, true},
    {"circle", 2, true},
    {"line", 2, true},
    {"linestrip", 2, false},
    {"point", 1, true},
    {"oriented_rectangle", 4, true},
};

const Rule* FindRule(absl::string_view shape_type) {
  for (const Rule& rule : kRules) {
    if (rule.type == shape_type) return &rule;
  }
  return nullptr;
}

}  // namespace

absl::Status CheckShapeType(absl::string_view shape_type) {
  if (shape_type == "mask") {
    return absl::InvalidArgumentError(
        "shape type \"mask\" (a bitmap mask) is not supported: draw the region as a polygon");
  }
  if (FindRule(shape_type) != nullptr) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown shape type \"", absl::CHexEscape(shape_type),
      "\" (expected polygon, rectangle, circle, line, linestrip, point or oriented_rectangle)"));
}

absl::Status CheckPointCount(absl::string_view shape_type, size_t point_count) {
  const Rule* rule = FindRule(shape_type);
  if (rule == nullptr) return CheckShapeType(shape_type);
  const bool ok = rule->exact ? point_count == rule->points : point_count >= rule->points;
  if (ok) return absl::OkStatus();
  const bool vowel = absl::string_view("aeiou").find(rule->type[0]) != absl::string_view::npos;
  return absl::InvalidArgumentError(
      absl::StrFormat("%s %s needs %s %d point%s, got %d", vowel ? "an" : "a", rule->type,
                      rule->exact ? "exactly" : "at least", rule->points,
                      rule->points == 1 ? "" : "s", point_count));
}

}  // namespace explainer::common::internal
