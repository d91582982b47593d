// See prediction_pass.h.
#include "client/gallery/prediction_pass.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "client/gallery/gallery_pass.h"

namespace explainer::client::gallery {

absl::Status RunPredictionPass(Session& session, const explainer::v1::ExplainOptions& base,
                               GalleryRun& run, std::FILE* err) {
  const size_t num_classes = run.class_names.size();
  PassSpec spec{"1/2", "predictions (no heatmaps)", {}, nullptr};
  for (size_t i = 0; i < run.inputs.entries.size(); ++i) spec.entries.push_back(i);
  explainer::v1::ExplainOptions cheap = base;
  cheap.set_skip_explanation(true);
  spec.options_for = [&](size_t) { return cheap; };
  std::vector<std::vector<float>> probabilities(run.inputs.entries.size());
  std::vector<int> predicted(run.inputs.entries.size(), -1);
  const absl::Status status = RunGalleryPass(session, run, spec, err, [&](size_t entry,
                                                                            ItemRecord& record) {
    if (record.result) {
      const explainer::v1::ExplainResult& result = *record.result;
      if (result.predicted_index() < 0 || result.predicted_index() >= static_cast<int>(num_classes)) {
        const std::string message =
            absl::StrCat("the server predicted class ", result.predicted_index(),
                         ", outside the model's ", num_classes, " classes");
        run.errors.push_back(RunError{record.file, spec.name, message});
        record.result.reset();
        record.error = ItemError{static_cast<int>(absl::StatusCode::kInternal), message, "client"};
      } else {
        probabilities[entry].assign(num_classes, 0.0f);
        for (const auto& p : result.probabilities()) {
          if (p.index() >= 0 && p.index() < static_cast<int>(num_classes)) {
            probabilities[entry][p.index()] = p.probability();
          }
        }
        predicted[entry] = result.predicted_index();
      }
    }
    run.records[entry] = std::move(record);
  });
  // Metrics and picks from whatever was predicted, in entry order (deterministic).
  std::vector<int> y_true, y_pred;
  std::vector<std::vector<float>> scores;
  PredictionResults& out = run.predicted;
  for (size_t i = 0; i < run.inputs.entries.size(); ++i) {
    if (predicted[i] < 0) continue;
    const GalleryEntry& e = run.inputs.entries[i];
    out.predictions.push_back(
        Prediction{i, e.item->relative_path, e.true_class, predicted[i], probabilities[i]});
    out.confidence[i] = probabilities[i][predicted[i]];
    y_true.push_back(e.true_class);
    y_pred.push_back(predicted[i]);
    scores.push_back(probabilities[i]);
  }
  absl::StatusOr<ClassificationMetrics> metrics =
      ComputeClassificationMetrics(run.class_names, y_true, y_pred, scores);
  if (!metrics.ok()) return metrics.status();
  out.metrics = *std::move(metrics);
  out.galleries = SelectGalleries(out.predictions, static_cast<int>(num_classes), run.options->k);
  return status;
}

}  // namespace explainer::client::gallery
