// Reads a bundle's explainer.json into a ModelSpec; torch-free so it is cheap to test.
#ifndef EXPLAINER_SERVICE_ENGINE_BUNDLE_SPEC_H_
#define EXPLAINER_SERVICE_ENGINE_BUNDLE_SPEC_H_

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "service/engine/model_spec.h"

namespace explainer::engine {

// The name of the extra file inside the TorchScript archive.
inline constexpr char kBundleSpecFile[] = "explainer.json";
// The explainer.json layout this engine reads (its "bundle_format"; absent means 1).
inline constexpr int kBundleFormat = 1;

// Parses explainer.json (written by tools/export_model.py):
//   {"bundle_format": 1, "name": "...", "version": "...",
//    "class_names": ["Normal", ...], "input_size": {"height": H, "width": W},
//    "mean": [r, g, b], "std": [r, g, b], "target_layer": "..."}
// input_size may also be [H, W]; unknown fields are ignored. InvalidArgument naming
// `bundle` and the field that is missing or wrong.
absl::StatusOr<ModelSpec> ParseBundleSpec(absl::string_view json_text, absl::string_view bundle);

}  // namespace explainer::engine

#endif  // EXPLAINER_SERVICE_ENGINE_BUNDLE_SPEC_H_
