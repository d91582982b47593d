// ItemRecords for the results and summary tests.
#ifndef EXPLAINER_TESTS_CLIENT_RECORD_FIXTURES_H_
#define EXPLAINER_TESTS_CLIENT_RECORD_FIXTURES_H_

#include <string>
#include <vector>

#include "client/item_record.h"

namespace explainer::testing {

inline const std::vector<std::string>& Classes() {
  static const auto* classes = new std::vector<std::string>{"Normal", "Benign", "Malignant"};
  return *classes;
}

// A result predicting `predicted` with probabilities `p`; with an annotation
// report when `ious` is not empty (thresholds 0.3, 0.5, 0.7).
inline client::ItemRecord ResultRecord(const std::string& file, int predicted, std::vector<float> p,
                                       std::vector<float> ious = {}, bool hit = false) {
  client::ItemRecord record;
  record.file = file;
  record.request_id = file;
  explainer::v1::ExplainResult result;
  result.set_predicted_index(predicted);
  result.set_predicted_name(Classes()[predicted]);
  for (int i = 0; i < static_cast<int>(p.size()); ++i) {
    auto* cp = result.add_probabilities();
    cp->set_index(i);
    cp->set_name(Classes()[i]);
    cp->set_probability(p[i]);
  }
  result.set_explained_index(predicted);
  result.set_original_width(640);
  result.set_original_height(480);
  if (!ious.empty()) {
    const float thresholds[] = {0.3f, 0.5f, 0.7f};
    for (size_t i = 0; i < ious.size(); ++i) {
      auto* at = result.mutable_annotation()->add_iou();
      at->set_threshold(thresholds[i]);
      at->set_iou(ious[i]);
    }
    result.mutable_annotation()->set_pointing_game_hit(hit);
    result.mutable_annotation()->set_energy_inside(0.25f);
    result.mutable_annotation()->set_mask_area_fraction(0.1f);
    result.mutable_annotation()->set_shape_count(2);
  }
  result.mutable_timings()->set_total_ms(12.5f);
  result.mutable_timings()->set_batch_size(4);
  record.result = result;
  record.outputs.overlay = file + "_overlay.png";
  record.round_trip = absl::Milliseconds(20);
  return record;
}

inline client::ItemRecord ErrorRecord(const std::string& file, int code, const std::string& message,
                                      const std::string& source = "server") {
  client::ItemRecord record;
  record.file = file;
  record.request_id = file;
  record.error = client::ItemError{code, message, source};
  return record;
}

}  // namespace explainer::testing

#endif  // EXPLAINER_TESTS_CLIENT_RECORD_FIXTURES_H_
