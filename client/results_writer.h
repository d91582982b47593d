// results.jsonl: one JSON object per image, in input order.
#ifndef EXPLAINER_CLIENT_RESULTS_WRITER_H_
#define EXPLAINER_CLIENT_RESULTS_WRITER_H_

#include <cstddef>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "client/item_record.h"
#include "nlohmann/json.hpp"

namespace explainer::client {

// The JSON line of one image. Every key is always present (null when it does not
// apply), so the schema is the same for results and errors:
// {"file", "request_id", "annotation_file", "predicted_class", "predicted_index",
//  "confidence", "probabilities": {name: p}, "explained_class", "explained_index",
//  "annotation": {"iou": {"0.3": x, ...}, "pointing_game_hit", "energy_inside",
//  "mask_area_fraction", "shape_count"} | null, "original_size": [w, h],
//  "outputs": {"overlay", "heatmap", "cam"}, "output_error": message | null,
//  "error": {"code", "status", "message", "source"} | null,
//  "timings": {... "round_trip_ms"}}
// Strings keep their bytes; ResultsWriter escapes invalid UTF-8 as \xHH.
// Floats are written with the shortest decimal that reads back as the same
// float32, so 0.3f is "0.3", not 0.30000001192092896.
nlohmann::ordered_json RecordToJson(const ItemRecord& record,
                                    const std::vector<std::string>& class_names);

// The shortest decimal of a float32 as a double: 0.3f -> 0.3.
double ShortestDouble(float value);
// The JSON key of a threshold: 0.3f -> "0.3".
std::string ThresholdKey(float threshold);

// Answers arrive out of order; lines are written in item order (a line waits
// until every earlier item's line is written) and flushed, so a run that dies
// leaves a readable prefix.
class ResultsWriter {
 public:
  static absl::StatusOr<std::unique_ptr<ResultsWriter>> Open(const std::string& path);
  ~ResultsWriter();

  absl::Status Add(size_t index, const nlohmann::ordered_json& line);
  // FailedPrecondition when an item before the last one added never came.
  absl::Status Close();

  const std::string& path() const { return path_; }
  size_t lines_written() const { return next_index_; }

 private:
  ResultsWriter(std::string path, std::FILE* file);
  absl::Status WriteReady();

  std::string path_;
  std::FILE* file_;
  size_t next_index_ = 0;
  std::map<size_t, std::string> pending_;
};

}  // namespace explainer::client

#endif  // EXPLAINER_CLIENT_RESULTS_WRITER_H_
