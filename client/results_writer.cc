// results.jsonl lines and their in-order writer; see results_writer.h.
#include "client/results_writer.h"

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "client/utf8_text.h"

namespace explainer::client {
namespace {

using nlohmann::ordered_json;

std::string ShortestString(float value) {
  char buffer[64];
  const auto [end, ec] = std::to_chars(buffer, buffer + sizeof(buffer), value);
  if (ec != std::errc()) return absl::StrCat(value);
  return std::string(buffer, end);
}

std::string ClassName(int index, const std::vector<std::string>& class_names) {
  if (index >= 0 && index < static_cast<int>(class_names.size())) return class_names[index];
  return absl::StrCat("class ", index);
}

ordered_json PathOrNull(const std::string& path) {
  return path.empty() ? ordered_json(nullptr) : ordered_json(path);
}

ordered_json AnnotationJson(const explainer::v1::AnnotationReport& report) {
  ordered_json iou = ordered_json::object();
  for (const auto& at : report.iou()) iou[ThresholdKey(at.threshold())] = ShortestDouble(at.iou());
  return ordered_json{{"iou", iou},
                      {"pointing_game_hit", report.pointing_game_hit()},
                      {"energy_inside", ShortestDouble(report.energy_inside())},
                      {"mask_area_fraction", ShortestDouble(report.mask_area_fraction())},
                      {"shape_count", report.shape_count()}};
}

// pytorch-grad-cam's metrics of the heatmap, when the request asked for them.
ordered_json FaithfulnessJson(const explainer::v1::Faithfulness& f) {
  ordered_json out = ordered_json::object();
  if (f.has_cam_multiply_change()) {
    out["cam_multiply_change"] = ShortestDouble(f.cam_multiply_change());
  }
  if (f.has_road_combined()) {
    ordered_json percentiles = ordered_json::array();
    for (float p : f.road_percentiles()) percentiles.push_back(ShortestDouble(p));
    out["road"] = {{"percentiles", percentiles},
                   {"morf", ShortestDouble(f.road_morf())},
                   {"lerf", ShortestDouble(f.road_lerf())},
                   {"combined", ShortestDouble(f.road_combined())}};
  }
  return out;
}

ordered_json TimingsJson(const ItemRecord& record) {
  ordered_json timings = ordered_json::object();
  if (record.result) {
    const auto& t = record.result->timings();
    timings["decode_ms"] = ShortestDouble(t.decode_ms());
    timings["preprocess_ms"] = ShortestDouble(t.preprocess_ms());
    timings["queue_ms"] = ShortestDouble(t.queue_ms());
    timings["inference_ms"] = ShortestDouble(t.inference_ms());
    timings["postprocess_ms"] = ShortestDouble(t.postprocess_ms());
    timings["server_total_ms"] = ShortestDouble(t.total_ms());
    timings["batch_size"] = t.batch_size();
  }
  timings["round_trip_ms"] =
      ShortestDouble(static_cast<float>(absl::ToDoubleMilliseconds(record.round_trip)));
  return timings;
}

}  // namespace

double ShortestDouble(float value) { return std::strtod(ShortestString(value).c_str(), nullptr); }

std::string ThresholdKey(float threshold) { return ShortestString(threshold); }

ordered_json RecordToJson(const ItemRecord& record, const std::vector<std::string>& class_names) {
  ordered_json line;
  line["file"] = record.file;
  line["request_id"] = record.request_id;
  line["annotation_file"] = PathOrNull(record.annotation_file);
  if (!record.sop_instance_uid.empty()) line["sop_instance_uid"] = record.sop_instance_uid;
  line["predicted_class"] = nullptr;
  line["predicted_index"] = nullptr;
  line["confidence"] = nullptr;
  line["probabilities"] = nullptr;
  line["explained_class"] = nullptr;
  line["explained_index"] = nullptr;
  line["annotation"] = nullptr;
  line["original_size"] = nullptr;
  if (record.result) {
    const explainer::v1::ExplainResult& result = *record.result;
    line["predicted_class"] = result.predicted_name().empty()
                                  ? ClassName(result.predicted_index(), class_names)
                                  : result.predicted_name();
    line["predicted_index"] = result.predicted_index();
    ordered_json probabilities = ordered_json::object();
    for (const auto& p : result.probabilities()) {
      const std::string name = p.name().empty() ? ClassName(p.index(), class_names) : p.name();
      probabilities[name] = ShortestDouble(p.probability());
      if (p.index() == result.predicted_index()) {
        line["confidence"] = ShortestDouble(p.probability());
      }
    }
    line["probabilities"] = probabilities;
    if (result.explained_index() >= 0) {
      line["explained_class"] = ClassName(result.explained_index(), class_names);
      line["explained_index"] = result.explained_index();
    }
    if (result.has_annotation()) line["annotation"] = AnnotationJson(result.annotation());
    if (result.has_faithfulness()) line["faithfulness"] = FaithfulnessJson(result.faithfulness());
    line["original_size"] = {result.original_width(), result.original_height()};
  }
  line["outputs"] = {{"overlay", PathOrNull(record.outputs.overlay)},
                     {"heatmap", PathOrNull(record.outputs.heatmap)},
                     {"cam", PathOrNull(record.outputs.cam)}};
  if (!record.outputs.dicom_overlay.empty()) {
    line["outputs"]["dicom_overlay"] = record.outputs.dicom_overlay;
    line["outputs"]["dicom_sr"] = record.outputs.dicom_sr;
  }
  line["output_error"] = PathOrNull(record.output_error);
  if (record.error) {
    line["error"] = {
        {"code", record.error->code},
        {"status", absl::StatusCodeToString(static_cast<absl::StatusCode>(record.error->code))},
        {"message", record.error->message},
        {"source", record.error->source}};
  } else {
    line["error"] = nullptr;
  }
  line["timings"] = TimingsJson(record);
  return line;
}

absl::StatusOr<std::unique_ptr<ResultsWriter>> ResultsWriter::Open(const std::string& path) {
  std::FILE* file = std::fopen(path.c_str(), "w");
  if (file == nullptr) {
    return absl::PermissionDeniedError(
        absl::StrCat("cannot write ", path, ": ", std::strerror(errno)));
  }
  return std::unique_ptr<ResultsWriter>(new ResultsWriter(path, file));
}

ResultsWriter::ResultsWriter(std::string path, std::FILE* file)
    : path_(std::move(path)), file_(file) {}

ResultsWriter::~ResultsWriter() {
  if (file_ != nullptr) std::fclose(file_);
}

absl::Status ResultsWriter::Add(size_t index, const ordered_json& line) {
  if (file_ == nullptr) return absl::FailedPreconditionError(path_ + " is closed");
  if (index < next_index_ || pending_.count(index) > 0) {
    return absl::InvalidArgumentError(absl::StrCat("item ", index, " was added twice"));
  }
  // A file name need not be UTF-8; its invalid bytes are written as \xHH rather
  // than aborting the run (dump throws on them) or being lost.
  pending_[index] = DumpJson(line);
  return WriteReady();
}

absl::Status ResultsWriter::WriteReady() {
  bool wrote = false;
  for (auto it = pending_.begin(); it != pending_.end() && it->first == next_index_;
       it = pending_.erase(it)) {
    if (std::fputs(it->second.c_str(), file_) < 0 || std::fputc('\n', file_) == EOF) {
      return absl::DataLossError(absl::StrCat("cannot write ", path_, ": ", std::strerror(errno)));
    }
    ++next_index_;
    wrote = true;
  }
  if (wrote && std::fflush(file_) != 0) {
    return absl::DataLossError(absl::StrCat("cannot write ", path_, ": ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

absl::Status ResultsWriter::Close() {
  if (file_ == nullptr) return absl::OkStatus();
  const bool closed = std::fclose(file_) == 0;
  file_ = nullptr;
  if (!pending_.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(path_, ": item ", next_index_,
                                                      " never came; ", pending_.size(),
                                                      " later line(s) were not written"));
  }
  if (!closed) return absl::DataLossError(absl::StrCat("cannot close ", path_));
  return absl::OkStatus();
}

}  // namespace explainer::client
