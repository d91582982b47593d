// explainer.json -> ModelSpec, with a precise message for every bad field.
#include "service/engine/bundle_spec.h"

#include <array>
#include <cmath>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "nlohmann/json.hpp"

namespace explainer::engine {
namespace {

using nlohmann::json;

class SpecReader {
 public:
  SpecReader(const json& root, absl::string_view bundle) : root_(root), bundle_(bundle) {}

  absl::Status Error(absl::string_view what) const {
    return absl::InvalidArgumentError(
        absl::StrCat("bundle ", bundle_, ": ", kBundleSpecFile, ": ", what));
  }

  absl::StatusOr<std::string> NonEmptyString(const char* key) const {
    auto it = root_.find(key);
    if (it == root_.end()) return Error(absl::StrCat("missing field '", key, "'"));
    if (!it->is_string() || it->get<std::string>().empty()) {
      return Error(absl::StrCat("field '", key, "' must be a non-empty string"));
    }
    return it->get<std::string>();
  }

  absl::StatusOr<std::array<float, 3>> Triple(const char* key) const {
    auto it = root_.find(key);
    if (it == root_.end()) return Error(absl::StrCat("missing field '", key, "'"));
    if (!it->is_array() || it->size() != 3) {
      return Error(absl::StrCat("field '", key, "' must be a list of 3 numbers (R, G, B)"));
    }
    std::array<float, 3> out{};
    for (int i = 0; i < 3; ++i) {
      const json& v = (*it)[i];
      if (!v.is_number() || !std::isfinite(v.get<double>())) {
        return Error(absl::StrCat("field '", key, "' must be a list of 3 finite numbers"));
      }
      out[i] = v.get<float>();
    }
    return out;
  }

  absl::StatusOr<std::vector<std::string>> ClassNames() const {
    auto it = root_.find("class_names");
    if (it == root_.end()) return Error("missing field 'class_names'");
    if (!it->is_array() || it->empty()) {
      return Error("field 'class_names' must be a non-empty list of strings");
    }
    std::vector<std::string> names;
    std::set<std::string> seen;
    for (const json& v : *it) {
      if (!v.is_string() || v.get<std::string>().empty()) {
        return Error("field 'class_names' must be a non-empty list of non-empty strings");
      }
      names.push_back(v.get<std::string>());
      if (!seen.insert(names.back()).second) {
        return Error(absl::StrCat("field 'class_names' names '", names.back(), "' twice"));
      }
    }
    return names;
  }

  // {"height": H, "width": W} or [H, W], positive integers.
  absl::StatusOr<cv::Size> InputSize() const {
    auto it = root_.find("input_size");
    if (it == root_.end()) return Error("missing field 'input_size'");
    const json* h = nullptr;
    const json* w = nullptr;
    if (it->is_object() && it->contains("height") && it->contains("width")) {
      h = &(*it)["height"];
      w = &(*it)["width"];
    } else if (it->is_array() && it->size() == 2) {
      h = &(*it)[0];
      w = &(*it)[1];
    }
    constexpr int kMaxSide = 16384;  // far beyond any classifier; guards allocations
    auto valid = [](const json* v) {
      return v != nullptr && v->is_number_integer() && v->get<int64_t>() > 0 &&
             v->get<int64_t>() <= kMaxSide;
    };
    if (!valid(h) || !valid(w)) {
      return Error(absl::StrCat(
          "field 'input_size' must be {\"height\": H, \"width\": W} (or [H, W]) with integers in "
          "1..",
          kMaxSide, ", got ", it->dump()));
    }
    return cv::Size(w->get<int>(), h->get<int>());
  }

 private:
  const json& root_;
  absl::string_view bundle_;
};

}  // namespace

absl::StatusOr<ModelSpec> ParseBundleSpec(absl::string_view json_text, absl::string_view bundle) {
  json root;
  try {
    root = json::parse(json_text.begin(), json_text.end());
  } catch (const json::exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat("bundle ", bundle, ": ", kBundleSpecFile, " is not valid JSON: ", e.what()));
  }
  SpecReader reader(root, bundle);
  if (!root.is_object()) return reader.Error("is not a JSON object");
  if (auto it = root.find("bundle_format"); it != root.end()) {
    if (!it->is_number_integer() || it->get<int64_t>() != kBundleFormat) {
      return reader.Error(absl::StrCat("unsupported bundle_format ", it->dump(),
                                       " (this engine reads ", kBundleFormat, ")"));
    }
  }
  ModelSpec spec;
  EXPLAINER_ASSIGN_OR_RETURN(spec.name, reader.NonEmptyString("name"));
  EXPLAINER_ASSIGN_OR_RETURN(spec.version, reader.NonEmptyString("version"));
  EXPLAINER_ASSIGN_OR_RETURN(spec.class_names, reader.ClassNames());
  EXPLAINER_ASSIGN_OR_RETURN(spec.input_size, reader.InputSize());
  EXPLAINER_ASSIGN_OR_RETURN(spec.normalization.mean, reader.Triple("mean"));
  EXPLAINER_ASSIGN_OR_RETURN(spec.normalization.std, reader.Triple("std"));
  for (float s : spec.normalization.std) {
    if (!(s > 0.0f)) return reader.Error("field 'std' must be positive");
  }
  EXPLAINER_ASSIGN_OR_RETURN(spec.target_layer, reader.NonEmptyString("target_layer"));
  return spec;
}

}  // namespace explainer::engine
