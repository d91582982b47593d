// `explainer gallery`: two passes over one channel, then the outputs; see
// gallery_command.h.
#include "client/gallery/gallery_command.h"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "client/connection.h"
#include "client/exit_codes.h"
#include "client/file_io.h"
#include "client/gallery/annotation_report.h"
#include "client/gallery/classification_metrics.h"
#include "client/gallery/comparison_render.h"
#include "client/gallery/gallery_render.h"
#include "client/gallery/html_report.h"
#include "client/gallery/labels.h"
#include "client/gallery/panels.h"
#include "client/gallery/selection.h"
#include "client/image_walker.h"
#include "client/progress.h"
#include "client/results_writer.h"
#include "client/streaming_explainer.h"
#include "client/utf8_text.h"
#include "opencv2/imgcodecs.hpp"
#include "opencv2/imgproc.hpp"

namespace explainer::client::gallery {
namespace {

namespace fs = std::filesystem;
using explainer::v1::ExplainOptions;
using explainer::v1::ExplainRequest;
using explainer::v1::ExplainResult;
using Json = nlohmann::ordered_json;

constexpr int kSummaryListed = 5;  // names listed on stdout before "... and N more"

// One labelled image of the run.
struct Entry {
  const ImageItem* item = nullptr;
  int true_class = -1;
  std::optional<int> predicted_class;  // set when pass 1 succeeded
  std::vector<float> probabilities;    // by class index
  float confidence = 0;
};

struct RunError {
  std::string file;
  std::string pass;  // "1" predictions, "2" explanations, "2b" comparison images
  std::string message;
};

std::string ClassFileName(const std::string& name) {
  std::string safe;
  for (char c : name) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_';
    safe += ok ? c : '_';
  }
  return safe.empty() ? "class" : safe;
}

int FindNormalClass(const std::vector<std::string>& class_names) {
  for (size_t i = 0; i < class_names.size(); ++i) {
    std::string lower;
    for (char c : class_names[i]) lower += static_cast<char>(std::tolower(c));
    if (lower == "normal") return static_cast<int>(i);
  }
  return -1;
}

std::string Fixed(double value, int decimals = 3) {
  return absl::StrFormat("%.*f", decimals, value);
}

std::string OptionalFixed(const std::optional<double>& value) {
  return value ? Fixed(*value) : "n/a";
}

// "a, b, c ... and 7 more"
std::string ShortList(const std::vector<std::string>& names) {
  std::vector<std::string> shown(names.begin(),
                                 names.begin() + std::min<size_t>(names.size(), kSummaryListed));
  std::string text = absl::StrJoin(shown, ", ");
  if (names.size() > shown.size())
    absl::StrAppend(&text, " ... and ", names.size() - shown.size(), " more");
  return text;
}

absl::Status WritePng(const std::string& path, const cv::Mat& bgr) {
  std::vector<uchar> bytes;
  try {
    if (!cv::imencode(".png", bgr, bytes)) {
      return absl::InternalError(absl::StrCat("cannot encode ", path, " as PNG"));
    }
  } catch (const cv::Exception& e) {
    return absl::InternalError(absl::StrCat("cannot encode ", path, " as PNG: ", e.what()));
  }
  return WriteFileBytes(
      path, absl::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

absl::Status WriteJson(const std::string& path, const Json& json) {
  return WriteFileBytes(path, DumpJson(json, 2) + "\n");
}

class GalleryRun {
 public:
  GalleryRun(const GalleryOptions& options, std::FILE* out, std::FILE* err)
      : options_(options), out_(out), err_(err), start_(absl::Now()) {}

  int Run();

 private:
  void PrintError(const std::string& message) {
    std::fprintf(err_, "explainer gallery: %s\n", message.c_str());
  }
  std::string OutPath(const std::string& name) const {
    return (fs::path(options_.out_dir) / name).string();
  }
  const std::string& ClassName(int index) const { return class_names_[index]; }

  // Streams `entries` (indexes into entries_) over one Explain stream of the shared
  // channel, with a progress bar (terminal) or start / end lines (pipes) on stderr.
  // `on_result` gets each successful result; failures are recorded in errors_.
  absl::Status RunPass(const std::string& pass, const std::string& what,
                       const std::vector<size_t>& entries,
                       const std::function<ExplainOptions(size_t)>& options_for,
                       const std::function<void(size_t, ExplainResult&)>& on_result);

  int ConnectAndLoad();
  absl::Status PassOne();
  absl::Status PassTwo();
  absl::Status PassComparison();
  absl::Status WriteOutputs();

  Json GalleriesJson() const;
  Json ComparisonJson() const;
  Json RunJson() const;
  std::vector<GalleryRowContent> GalleryRows(const ClassGallery& gallery) const;
  std::string Summary(const std::vector<std::string>& written) const;

  const GalleryOptions& options_;
  std::FILE* out_;
  std::FILE* err_;
  const absl::Time start_;

  std::vector<ImageItem> items_;
  LabelTable labels_;
  LabelMatch match_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<explainer::v1::Explainer::Stub> stub_;
  explainer::v1::ModelInfo info_;
  std::vector<std::string> class_names_;
  int normal_class_ = -1;

  std::vector<Entry> entries_;
  std::vector<RunError> errors_;
  int explained_ = 0;

  // Pass 1 results.
  std::vector<Prediction> predictions_;  // successful entries; item = entry index
  std::optional<ClassificationMetrics> metrics_;
  std::vector<ClassGallery> galleries_;

  // Pass 2 results.
  GalleryLayout gallery_layout_;
  std::map<size_t, cv::Mat> tile_images_;      // entry -> overlay fitted to a tile
  std::map<size_t, std::string> tile_errors_;  // entry -> why it has no overlay
  AnnotationReport report_;
  std::map<size_t, size_t> report_index_;  // entry -> index in report_.images

  // Comparison.
  ComparisonLayout comparison_layout_;
  struct ComparisonPick {
    const char* role;
    size_t entry;
    size_t report_image;
  };
  std::vector<std::pair<int, std::vector<ComparisonPick>>> comparison_picks_;
  std::map<size_t, ComparisonPanels> comparison_panels_;
  std::map<size_t, std::string> comparison_errors_;
};

absl::Status GalleryRun::RunPass(const std::string& pass, const std::string& what,
                                 const std::vector<size_t>& entries,
                                 const std::function<ExplainOptions(size_t)>& options_for,
                                 const std::function<void(size_t, ExplainResult&)>& on_result) {
  const absl::Time pass_start = absl::Now();
  std::fprintf(err_, "explainer gallery: pass %s: %s for %zu image(s)\n", pass.c_str(),
               what.c_str(), entries.size());
  std::fflush(err_);
  ProgressBar progress(err_, isatty(fileno(err_)) != 0, static_cast<int>(entries.size()),
                       absl::StrCat("pass ", pass, " "));
  int done = 0;
  int failed = 0;
  StreamingExplainer explainer(stub_.get(),
                               StreamOptions{options_.window, options_.connection.deadline,
                                             options_.connection.max_message_bytes});
  auto make_request = [&](size_t i) -> absl::StatusOr<ExplainRequest> {
    const Entry& entry = entries_[entries[i]];
    if (!entry.item->skip.ok()) return entry.item->skip;
    ExplainRequest request;
    request.set_request_id(entry.item->request_id);
    absl::StatusOr<std::string> image =
        ReadFileBytes(entry.item->path, options_.connection.max_message_bytes);
    if (!image.ok()) return image.status();
    request.set_image(*std::move(image));
    *request.mutable_options() = options_for(entries[i]);
    if (!request.options().skip_explanation() && !entry.item->annotation_path.empty()) {
      absl::StatusOr<std::string> annotation =
          ReadFileBytes(entry.item->annotation_path, options_.connection.max_message_bytes);
      if (!annotation.ok()) return annotation.status();
      request.set_annotation_json(*std::move(annotation));
    }
    return request;
  };
  auto on_answer = [&](StreamAnswer answer) {
    const size_t index = entries[answer.index];
    std::string error;
    if (!answer.response.ok()) {
      error = std::string(answer.response.status().message());
    } else if (answer.response->has_error()) {
      error = absl::StrCat(
          absl::StatusCodeToString(static_cast<absl::StatusCode>(answer.response->error().code())),
          ": ", answer.response->error().message());
    } else if (!answer.response->has_result()) {
      error = "the server's answer has neither a result nor an error";
    } else {
      on_result(index, *answer.response->mutable_result());
    }
    if (!error.empty()) {
      errors_.push_back(RunError{entries_[index].item->relative_path, pass, error});
      ++failed;
    }
    progress.Update(++done, failed);
  };
  const absl::Status status = explainer.Run(entries.size(), make_request, on_answer);
  progress.Finish();
  std::fprintf(
      err_, "explainer gallery: pass %s: %d answered, %d error(s) in %s\n", pass.c_str(),
      done - failed, failed,
      absl::FormatDuration(absl::Trunc(absl::Now() - pass_start, absl::Milliseconds(100))).c_str());
  std::fflush(err_);
  return status;
}

int GalleryRun::ConnectAndLoad() {
  absl::StatusOr<std::vector<ImageItem>> found =
      FindImages(WalkOptions{"", options_.input_dir, options_.annotations_dir, options_.out_dir});
  if (!found.ok()) {
    PrintError(std::string(found.status().message()));
    return found.status().code() == absl::StatusCode::kNotFound ? kExitFailed : kExitUsage;
  }
  items_ = *std::move(found);
  absl::StatusOr<LabelTable> labels = ReadLabels(options_.labels, options_.out_dir);
  if (!labels.ok()) {
    PrintError(std::string(labels.status().message()));
    return kExitUsage;
  }
  labels_ = *std::move(labels);

  std::error_code ec;
  fs::create_directories(options_.out_dir, ec);
  if (ec || !fs::is_directory(options_.out_dir)) {
    PrintError(absl::StrCat("--out: cannot create the folder ", options_.out_dir, ": ",
                            ec ? ec.message() : "a file of that name exists"));
    return kExitFailed;
  }

  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = Connect(options_.connection);
  if (!channel.ok()) {
    PrintError(std::string(channel.status().message()));
    return kExitServer;
  }
  channel_ = *channel;
  stub_ = explainer::v1::Explainer::NewStub(channel_);
  absl::StatusOr<explainer::v1::ModelInfo> info = FetchModelInfo(*stub_, options_.connection);
  if (!info.ok()) {
    PrintError(DescribeCallError(info.status(), options_.connection));
    return kExitServer;
  }
  info_ = *std::move(info);
  class_names_.assign(info_.class_names().begin(), info_.class_names().end());
  if (class_names_.empty()) {
    PrintError("the server's model reports no class names");
    return kExitServer;
  }
  if (info_.methods_size() > 0 && std::find(info_.methods().begin(), info_.methods().end(),
                                            options_.explain.method) == info_.methods().end()) {
    PrintError(
        absl::StrCat("--method: the server does not offer ", CamMethodName(options_.explain.method)));
    return kExitUsage;
  }
  normal_class_ = FindNormalClass(class_names_);

  std::vector<std::string> stems;
  for (const ImageItem& item : items_) stems.push_back(MatchStem(item.relative_path));
  absl::StatusOr<LabelMatch> match = MatchLabels(labels_, stems, class_names_);
  if (!match.ok()) {
    PrintError(std::string(match.status().message()));
    return kExitUsage;
  }
  match_ = *std::move(match);
  for (size_t i = 0; i < items_.size(); ++i) {
    if (match_.true_class[i] < 0) continue;
    Entry entry;
    entry.item = &items_[i];
    entry.true_class = match_.true_class[i];
    entries_.push_back(entry);
  }
  if (entries_.empty()) {
    std::vector<std::string> image_stems(stems.begin(),
                                         stems.begin() + std::min<size_t>(stems.size(), 3));
    std::vector<std::string> label_stems;
    for (size_t e = 0; e < labels_.entries.size() && e < 3; ++e) {
      label_stems.push_back(labels_.entries[e].stem);
    }
    PrintError(absl::StrCat(
        "none of the ", items_.size(), " image(s) in ", options_.input_dir, " has a label in ",
        options_.labels,
        " (images are matched by file stem; image stems: ", absl::StrJoin(image_stems, ", "),
        " ...; label stems: ", absl::StrJoin(label_stems, ", "), " ...)"));
    return kExitFailed;
  }
  size_t annotated = 0;
  for (const Entry& e : entries_) annotated += e.item->annotation_path.empty() ? 0 : 1;
  std::fprintf(out_,
               "explainer gallery: %zu image(s), %zu labelled (%s), %zu with annotations; "
               "model \"%s\" %s (%s) on %s at %s\n",
               items_.size(), entries_.size(), LabelFormatName(labels_.format).c_str(), annotated,
               info_.name().c_str(), info_.version().c_str(),
               absl::StrJoin(class_names_, ", ").c_str(), info_.device().c_str(),
               options_.connection.server.c_str());
  std::fflush(out_);
  return kExitOk;
}

absl::Status GalleryRun::PassOne() {
  std::vector<size_t> all(entries_.size());
  for (size_t i = 0; i < all.size(); ++i) all[i] = i;
  ExplainOptions cheap;
  cheap.set_method(options_.explain.method);
  cheap.set_skip_explanation(true);
  const absl::Status status = RunPass(
      "1/2", "predictions (no heatmaps)", all, [&](size_t) { return cheap; },
      [&](size_t index, ExplainResult& result) {
        Entry& entry = entries_[index];
        std::vector<float> probabilities(class_names_.size(), 0.0f);
        for (const auto& p : result.probabilities()) {
          if (p.index() >= 0 && p.index() < static_cast<int>(probabilities.size())) {
            probabilities[p.index()] = p.probability();
          }
        }
        if (result.predicted_index() < 0 ||
            result.predicted_index() >= static_cast<int>(class_names_.size())) {
          errors_.push_back(
              RunError{entry.item->relative_path, "1/2",
                       absl::StrCat("the server predicted class ", result.predicted_index(),
                                    ", outside the model's ", class_names_.size(), " classes")});
          return;
        }
        entry.predicted_class = result.predicted_index();
        entry.probabilities = std::move(probabilities);
        entry.confidence = entry.probabilities[*entry.predicted_class];
      });
  // Metrics and picks from whatever was predicted, in entry order (deterministic).
  std::vector<int> y_true, y_pred;
  std::vector<std::vector<float>> probabilities;
  for (size_t i = 0; i < entries_.size(); ++i) {
    const Entry& e = entries_[i];
    if (!e.predicted_class) continue;
    predictions_.push_back(
        Prediction{i, e.item->relative_path, e.true_class, *e.predicted_class, e.probabilities});
    y_true.push_back(e.true_class);
    y_pred.push_back(*e.predicted_class);
    probabilities.push_back(e.probabilities);
  }
  absl::StatusOr<ClassificationMetrics> metrics =
      ComputeClassificationMetrics(class_names_, y_true, y_pred, probabilities);
  if (!metrics.ok()) return metrics.status();
  metrics_ = *std::move(metrics);
  galleries_ = SelectGalleries(predictions_, static_cast<int>(class_names_.size()), options_.k);
  return status;
}

absl::Status GalleryRun::PassTwo() {
  std::set<size_t> shown;  // entries the galleries show
  for (const ClassGallery& gallery : galleries_) {
    for (const GalleryRow& row : gallery.rows) {
      for (size_t pick : row.picks) shown.insert(predictions_[pick].item);
    }
  }
  report_.class_names = class_names_;
  report_.normal_class = normal_class_;
  report_.thresholds = options_.explain.thresholds;
  report_.method = CamMethodName(options_.explain.method);
  std::set<size_t> tumour;  // annotated tumour images the report needs
  for (size_t i = 0; i < entries_.size(); ++i) {
    const Entry& e = entries_[i];
    if (e.true_class == normal_class_) {
      ++report_.normal_left_out;
      continue;
    }
    if (e.item->annotation_path.empty()) {
      report_.without_annotation.push_back(e.item->relative_path);
    } else if (!e.predicted_class) {
      report_.failed.push_back(absl::StrCat(e.item->relative_path, ": not predicted in pass 1"));
    } else {
      tumour.insert(i);
    }
  }
  std::set<size_t> needed = shown;
  needed.insert(tumour.begin(), tumour.end());
  const std::vector<size_t> order(needed.begin(), needed.end());

  const cv::Size tile_box(gallery_layout_.tile_width, gallery_layout_.image_height);
  const absl::Status status = RunPass(
      "2/2", "explanations (gallery overlays and annotation reports)", order,
      [&](size_t index) {
        ExplainOptions o;
        o.set_method(options_.explain.method);
        for (float t : options_.explain.thresholds) o.add_iou_thresholds(t);
        o.set_return_overlay_png(shown.count(index) > 0);
        o.set_overlay_image_weight(options_.explain.image_weight);
        return o;
      },
      [&](size_t index, ExplainResult& result) {
        ++explained_;
        const Entry& entry = entries_[index];
        if (shown.count(index) > 0) {
          absl::StatusOr<cv::Mat> tile = OverlayPanel(result.overlay_png(), tile_box);
          if (tile.ok()) {
            tile_images_[index] = *std::move(tile);
          } else {
            tile_errors_[index] = std::string(tile.status().message());
          }
        }
        if (tumour.count(index) == 0) return;
        if (!result.has_annotation()) {
          report_.failed.push_back(
              absl::StrCat(entry.item->relative_path, ": the answer has no annotation report"));
          return;
        }
        const explainer::v1::AnnotationReport& a = result.annotation();
        AnnotatedImage image;
        image.file = entry.item->relative_path;
        image.annotation = entry.item->annotation_path;
        image.true_class = entry.true_class;
        image.predicted_class = result.predicted_index();
        image.explained_class = result.explained_index();
        image.confidence = 0;
        for (const auto& p : result.probabilities()) {
          if (p.index() == result.predicted_index()) image.confidence = p.probability();
        }
        for (size_t t = 0; t < options_.explain.thresholds.size(); ++t) {
          float iou = t < static_cast<size_t>(a.iou_size()) ? a.iou(t).iou() : 0.0f;
          for (const auto& at : a.iou()) {
            if (at.threshold() == options_.explain.thresholds[t]) iou = at.iou();
          }
          image.iou.push_back(iou);
        }
        image.pointing_game_hit = a.pointing_game_hit();
        image.energy_inside = a.energy_inside();
        image.mask_area_fraction = a.mask_area_fraction();
        image.shape_count = a.shape_count();
        report_index_[index] = report_.images.size();
        report_.images.push_back(std::move(image));
      });
  std::map<std::string, size_t> entry_by_file;
  for (size_t i : order) entry_by_file[entries_[i].item->relative_path] = i;
  for (const RunError& e : errors_) {
    if (e.pass != "2/2") continue;
    const size_t i = entry_by_file.at(e.file);
    if (tumour.count(i) > 0) report_.failed.push_back(absl::StrCat(e.file, ": ", e.message));
    if (shown.count(i) > 0) tile_errors_[i] = e.message;
  }
  // Input order, whatever order the answers came in.
  std::sort(report_.images.begin(), report_.images.end(),
            [](const AnnotatedImage& a, const AnnotatedImage& b) { return a.file < b.file; });
  report_index_.clear();
  for (size_t r = 0; r < report_.images.size(); ++r) {
    report_index_[entry_by_file.at(report_.images[r].file)] = r;
  }
  return status;
}

absl::Status GalleryRun::PassComparison() {
  const size_t rank_t = RankingThresholdIndex(options_.explain.thresholds);
  std::vector<size_t> needed;
  for (int c : AnnotatedClasses(report_)) {
    std::vector<size_t> entries;
    std::vector<double> scores;
    std::vector<std::string> files;
    for (const auto& [entry, r] : report_index_) {
      if (report_.images[r].true_class != c) continue;
      entries.push_back(entry);
      scores.push_back(report_.images[r].iou[rank_t]);
      files.push_back(report_.images[r].file);
    }
    std::vector<ComparisonPick> picks;
    for (const RankedPick& pick : SelectBestMedianWorst(scores, files)) {
      const size_t entry = entries[pick.index];
      picks.push_back(ComparisonPick{pick.role, entry, report_index_[entry]});
      needed.push_back(entry);
    }
    comparison_picks_.emplace_back(c, std::move(picks));
  }
  std::sort(needed.begin(), needed.end());
  needed.erase(std::unique(needed.begin(), needed.end()), needed.end());
  if (needed.empty()) return absl::OkStatus();
  const cv::Size box(comparison_layout_.tile_width, comparison_layout_.image_height);
  // The best / median / worst are known only once every report is in, so their
  // heatmaps are fetched now rather than held for every tumour image.
  return RunPass(
      "2/2", "comparison images (heatmaps)", needed,
      [&](size_t) {
        ExplainOptions o;
        o.set_method(options_.explain.method);
        for (float t : options_.explain.thresholds) o.add_iou_thresholds(t);
        o.set_return_overlay_png(true);
        o.set_return_raw_heatmap(true);
        o.set_overlay_image_weight(options_.explain.image_weight);
        return o;
      },
      [&](size_t index, ExplainResult& result) {
        const Entry& entry = entries_[index];
        const int64_t limit = options_.connection.max_message_bytes;
        absl::StatusOr<std::string> image = ReadFileBytes(entry.item->path, limit);
        absl::StatusOr<std::string> annotation = ReadFileBytes(entry.item->annotation_path, limit);
        absl::StatusOr<ComparisonPanels> panels =
            !image.ok()        ? absl::StatusOr<ComparisonPanels>(image.status())
            : !annotation.ok() ? absl::StatusOr<ComparisonPanels>(annotation.status())
                               : BuildComparisonPanels(*image, *annotation, result, box);
        if (panels.ok()) {
          comparison_panels_[index] = *std::move(panels);
        } else {
          comparison_errors_[index] = std::string(panels.status().message());
        }
      });
}

std::vector<GalleryRowContent> GalleryRun::GalleryRows(const ClassGallery& gallery) const {
  const int c = gallery.class_index;
  const std::string& name = ClassName(c);
  const std::string descriptions[3] = {
      absl::StrCat("true ", name, ", predicted ", name, ": highest p(", name, ")"),
      absl::StrCat("true not ", name, ", predicted ", name, ": highest p(", name, ")"),
      absl::StrCat("true ", name, ", predicted not ", name, ": lowest p(", name, ")")};
  std::vector<GalleryRowContent> rows;
  for (int r = 0; r < 3; ++r) {
    const GalleryRow& row = gallery.rows[r];
    GalleryRowContent content;
    content.outcome = row.outcome;
    content.description = descriptions[r];
    content.available = row.available;
    for (size_t pick : row.picks) {
      const Prediction& p = predictions_[pick];
      GalleryTile tile;
      auto image = tile_images_.find(p.item);
      if (image != tile_images_.end()) tile.image = image->second;
      std::string third = absl::StrCat("conf ", Fixed(entries_[p.item].confidence));
      if (row.outcome == Outcome::kFalseNegative) {
        absl::StrAppend(&third, "  p(", name, ") ", Fixed(p.probabilities[c]));
      }
      absl::StrAppend(&third, "  ", OutcomeName(row.outcome));
      tile.title = {TextLine{p.file, colors::kText, true},
                    TextLine{absl::StrCat("true ", ClassName(p.true_class), "  pred ",
                                          ClassName(p.predicted_class))},
                    TextLine{third, OutcomeColor(row.outcome), true}};
      auto error = tile_errors_.find(p.item);
      if (tile.image.empty() && error != tile_errors_.end()) {
        tile.title[2] =
            TextLine{absl::StrCat("no overlay: ", error->second), colors::kFalseNegative};
      }
      content.tiles.push_back(std::move(tile));
    }
    rows.push_back(std::move(content));
  }
  return rows;
}

Json GalleryRun::GalleriesJson() const {
  Json galleries = Json::array();
  for (const ClassGallery& gallery : galleries_) {
    const int c = gallery.class_index;
    Json rows = Json::array();
    for (const GalleryRow& row : gallery.rows) {
      Json shown = Json::array();
      for (size_t pick : row.picks) {
        const Prediction& p = predictions_[pick];
        auto error = tile_errors_.find(p.item);
        shown.push_back(
            {{"file", p.file},
             {"true_class", ClassName(p.true_class)},
             {"predicted_class", ClassName(p.predicted_class)},
             {"confidence", ShortestDouble(entries_[p.item].confidence)},
             {"class_probability", ShortestDouble(p.probabilities[c])},
             {"overlay_error", error == tile_errors_.end() ? Json(nullptr) : Json(error->second)}});
      }
      rows.push_back(
          {{"outcome", OutcomeName(row.outcome)}, {"available", row.available}, {"shown", shown}});
    }
    galleries.push_back({{"class", ClassName(c)},
                         {"image", absl::StrCat("gallery_", ClassFileName(ClassName(c)), ".png")},
                         {"rows", rows}});
  }
  return galleries;
}

Json GalleryRun::ComparisonJson() const {
  if (options_.annotations_dir.empty()) return nullptr;
  const size_t rank_t = RankingThresholdIndex(options_.explain.thresholds);
  Json classes = Json::array();
  for (const auto& [c, picks] : comparison_picks_) {
    int ranked = 0;
    for (const AnnotatedImage& image : report_.images) ranked += image.true_class == c ? 1 : 0;
    Json rows = Json::array();
    for (const ComparisonPick& pick : picks) {
      auto error = comparison_errors_.find(pick.entry);
      rows.push_back(
          {{"role", pick.role},
           {"file", report_.images[pick.report_image].file},
           {"iou", ShortestDouble(report_.images[pick.report_image].iou[rank_t])},
           {"error", error == comparison_errors_.end() ? Json(nullptr) : Json(error->second)}});
    }
    classes.push_back({{"class", ClassName(c)}, {"images_ranked", ranked}, {"rows", rows}});
  }
  return {{"image", "annotation_comparison.png"},
          {"ranked_by", absl::StrCat("IoU@", ThresholdKey(options_.explain.thresholds[rank_t]))},
          {"classes", classes}};
}

Json GalleryRun::RunJson() const {
  Json unlabelled = Json::array();
  for (size_t i : match_.unlabelled_images) unlabelled.push_back(items_[i].relative_path);
  Json orphans = Json::array();
  for (const LabelEntry& e : match_.labels_without_image) orphans.push_back(e.stem);
  Json errors = Json::array();
  for (const RunError& e : errors_) {
    errors.push_back({{"file", e.file}, {"pass", e.pass}, {"message", e.message}});
  }
  Json thresholds = Json::array();
  for (float t : options_.explain.thresholds) thresholds.push_back(ShortestDouble(t));
  return {{"server", options_.connection.server},
          {"model",
           {{"name", info_.name()},
            {"version", info_.version()},
            {"device", info_.device()},
            {"classes", class_names_},
            {"classes_text", absl::StrJoin(class_names_, ", ")}}},
          {"method", CamMethodName(options_.explain.method)},
          {"k", options_.k},
          {"thresholds", thresholds},
          {"input_dir", options_.input_dir},
          {"annotations_dir",
           options_.annotations_dir.empty() ? Json(nullptr) : Json(options_.annotations_dir)},
          {"labels",
           {{"path", options_.labels},
            {"format", LabelFormatName(labels_.format)},
            {"entries", labels_.entries.size()}}},
          {"images_found", items_.size()},
          {"labelled", entries_.size()},
          {"predicted", predictions_.size()},
          {"explained", explained_},
          {"unlabelled_images", unlabelled},
          {"labels_without_image", orphans},
          {"errors", errors}};
}

absl::Status GalleryRun::WriteOutputs() {
  std::vector<std::string> written;
  // Galleries.
  for (const ClassGallery& gallery : galleries_) {
    const std::string& name = ClassName(gallery.class_index);
    int true_count = 0, predicted_count = 0;
    for (const Prediction& p : predictions_) {
      true_count += p.true_class == gallery.class_index ? 1 : 0;
      predicted_count += p.predicted_class == gallery.class_index ? 1 : 0;
    }
    const std::string title = absl::StrCat(name, ": TP / FP / FN");
    const std::string subtitle = absl::StrCat(
        true_count, " true ", name, ", ", predicted_count, " predicted ", name, ", of ",
        predictions_.size(), " images; model ", info_.name(), " ", info_.version());
    absl::StatusOr<cv::Mat> image =
        RenderGallery(title, subtitle, GalleryRows(gallery), options_.k, gallery_layout_);
    if (!image.ok()) return image.status();
    const std::string file = absl::StrCat("gallery_", ClassFileName(name), ".png");
    if (absl::Status s = WritePng(OutPath(file), *image); !s.ok()) return s;
    written.push_back(file);
  }
  // Annotation comparison.
  if (!options_.annotations_dir.empty()) {
    const size_t rank_t = RankingThresholdIndex(options_.explain.thresholds);
    const std::string rank_name = absl::StrCat("IoU@", ThresholdKey(options_.explain.thresholds[rank_t]));
    std::vector<ComparisonSection> sections;
    for (const auto& [c, picks] : comparison_picks_) {
      ComparisonSection section;
      int ranked = 0;
      for (const AnnotatedImage& image : report_.images) ranked += image.true_class == c ? 1 : 0;
      section.heading = absl::StrCat(ClassName(c), ": best, median and worst ", rank_name, " of ",
                                     ranked, " annotated image(s)");
      section.empty_text = absl::StrCat("no annotated ", ClassName(c), " images");
      for (const ComparisonPick& pick : picks) {
        const AnnotatedImage& a = report_.images[pick.report_image];
        ComparisonRow row;
        auto panels = comparison_panels_.find(pick.entry);
        if (panels != comparison_panels_.end()) {
          row.panels[0] = panels->second.original;
          row.panels[1] = panels->second.mask;
          row.panels[2] = panels->second.heatmap;
          row.panels[3] = panels->second.overlay;
        }
        std::string role = pick.role;
        role[0] = static_cast<char>(std::toupper(role[0]));
        row.titles[0] = {TextLine{absl::StrCat(role, ": ", a.file), colors::kText, true},
                         TextLine{absl::StrCat("true ", ClassName(a.true_class))},
                         TextLine{absl::StrCat("pred ", ClassName(a.predicted_class), " ",
                                               Fixed(a.confidence))}};
        row.titles[1] = {
            TextLine{"annotation mask", colors::kText, true},
            TextLine{absl::StrCat(a.shape_count, " shape(s), ",
                                  Fixed(100.0 * a.mask_area_fraction, 1), "% of the image")}};
        row.titles[2] = {
            TextLine{absl::StrCat("heatmap (", report_.method, ")"), colors::kText, true},
            TextLine{absl::StrCat("explains ", ClassName(a.explained_class))}};
        row.titles[3] = {
            TextLine{absl::StrCat("overlay  ", rank_name, " = ", Fixed(a.iou[rank_t])),
                     colors::kText, true},
            TextLine{absl::StrCat("pointing game: ", a.pointing_game_hit ? "hit" : "miss")},
            TextLine{absl::StrCat("energy inside ", Fixed(a.energy_inside))}};
        auto error = comparison_errors_.find(pick.entry);
        if (error != comparison_errors_.end()) {
          row.titles[0][2] = TextLine{error->second, colors::kFalseNegative};
        }
        section.rows.push_back(std::move(row));
      }
      sections.push_back(std::move(section));
    }
    absl::StatusOr<cv::Mat> image = RenderComparison(
        absl::StrCat("Annotation comparison: ", report_.method, " heatmap vs tumour annotation"),
        sections, comparison_layout_);
    if (!image.ok()) return image.status();
    if (absl::Status s = WritePng(OutPath("annotation_comparison.png"), *image); !s.ok()) return s;
    written.push_back("annotation_comparison.png");
  }
  // Documents and page.
  // File names need not be UTF-8: escaped here, so that neither the JSON files nor
  // the page (which dumps parts of them) can throw on them.
  const Json metrics = EscapeInvalidUtf8Json(MetricsToJson(*metrics_));
  const Json report = options_.annotations_dir.empty()
                          ? Json(nullptr)
                          : EscapeInvalidUtf8Json(AnnotationReportToJson(report_));
  const Json gallery = EscapeInvalidUtf8Json(Json{
      {"run", RunJson()}, {"galleries", GalleriesJson()}, {"comparison", ComparisonJson()}});
  if (absl::Status s = WriteJson(OutPath("metrics.json"), metrics); !s.ok()) return s;
  written.push_back("metrics.json");
  if (!report.is_null()) {
    if (absl::Status s = WriteJson(OutPath("annotation_report.json"), report); !s.ok()) return s;
    written.push_back("annotation_report.json");
  }
  if (absl::Status s = WriteJson(OutPath("gallery.json"), gallery); !s.ok()) return s;
  written.push_back("gallery.json");
  const std::string html = RenderIndexHtml(HtmlReportInput{gallery, metrics, report});
  if (absl::Status s = WriteFileBytes(OutPath("index.html"), html); !s.ok()) return s;
  written.push_back("index.html");

  std::fputs(Summary(written).c_str(), out_);
  std::fflush(out_);
  return absl::OkStatus();
}

std::string GalleryRun::Summary(const std::vector<std::string>& written) const {
  const ClassificationMetrics& m = *metrics_;
  std::string text;
  std::vector<std::string> unlabelled, orphans;
  for (size_t i : match_.unlabelled_images) unlabelled.push_back(items_[i].relative_path);
  for (const LabelEntry& e : match_.labels_without_image) orphans.push_back(e.stem);
  absl::StrAppend(&text, "Images: ", items_.size(), " found, ", entries_.size(), " labelled, ",
                  predictions_.size(), " predicted, ", explained_, " explained, ", errors_.size(),
                  " error(s)\n");
  if (!unlabelled.empty()) {
    absl::StrAppend(&text, "  ", unlabelled.size(),
                    " image(s) without a label (not sent): ", ShortList(unlabelled), "\n");
  }
  if (!orphans.empty()) {
    absl::StrAppend(&text, "  ", orphans.size(), " label(s) without an image: ", ShortList(orphans),
                    "\n");
  }
  for (size_t e = 0; e < errors_.size() && e < static_cast<size_t>(kSummaryListed); ++e) {
    absl::StrAppend(&text, "  error (pass ", errors_[e].pass, ") ", errors_[e].file, ": ",
                    errors_[e].message, "\n");
  }
  absl::StrAppend(&text, "Accuracy ", OptionalFixed(m.accuracy), ", balanced accuracy ",
                  OptionalFixed(m.balanced_accuracy), ", macro AUC ", OptionalFixed(m.macro_auc),
                  " (", m.count, " images)\n");
  for (size_t c = 0; c < class_names_.size(); ++c) {
    const ClassMetrics& cm = m.per_class[c];
    absl::StrAppend(&text, absl::StrFormat("  %-12s %4d true  %4d predicted  sensitivity %s  "
                                           "specificity %s  AUC %s\n",
                                           class_names_[c], cm.support, cm.predicted,
                                           OptionalFixed(cm.sensitivity),
                                           OptionalFixed(cm.specificity), OptionalFixed(cm.auc)));
  }
  absl::StrAppend(&text, "Galleries (k=", options_.k, "):");
  for (const ClassGallery& g : galleries_) {
    absl::StrAppend(&text, " ", ClassName(g.class_index));
    for (const GalleryRow& row : g.rows) {
      absl::StrAppend(&text, " ", OutcomeName(row.outcome), " ", row.picks.size(), "/",
                      row.available);
    }
    absl::StrAppend(&text, ";");
  }
  absl::StrAppend(&text, "\n");
  if (!options_.annotations_dir.empty()) {
    const GroupSummary all = SummarizeAll(report_);
    absl::StrAppend(&text, "Annotation agreement: ", all.count, " annotated tumour image(s) (",
                    report_.normal_left_out, " Normal left out, ",
                    report_.without_annotation.size(), " without annotation, ",
                    report_.failed.size(), " failed):");
    for (size_t t = 0; t < options_.explain.thresholds.size(); ++t) {
      absl::StrAppend(&text, " mean IoU@", ThresholdKey(options_.explain.thresholds[t]), " ",
                      OptionalFixed(all.mean_iou[t]), ";");
    }
    absl::StrAppend(&text, " pointing game ", OptionalFixed(all.pointing_game_rate),
                    "; energy inside ", OptionalFixed(all.mean_energy_inside), "\n");
  } else {
    absl::StrAppend(&text, "Annotation agreement: not measured (no --annotations-dir)\n");
  }
  absl::StrAppend(&text, "Wrote ", absl::StrJoin(written, ", "), " to ", options_.out_dir, " in ",
                  absl::FormatDuration(absl::Trunc(absl::Now() - start_, absl::Milliseconds(100))),
                  "\n");
  absl::StrAppend(&text, "Open ", OutPath("index.html"), "\n");
  return text;
}

int GalleryRun::Run() {
  if (int code = ConnectAndLoad(); code != kExitOk) return code;
  absl::Status pass1 = PassOne();
  if (!metrics_) {
    PrintError(absl::StrCat("computing the metrics: ", pass1.message()));
    return kExitFailed;
  }
  if (!pass1.ok()) {
    PrintError(absl::StrCat("pass 1: ", DescribeCallError(pass1, options_.connection)));
    return kExitServer;
  }
  if (predictions_.empty()) {
    PrintError(absl::StrCat("every one of the ", entries_.size(),
                            " labelled image(s) failed in pass 1; first: ", errors_[0].file, ": ",
                            errors_[0].message));
    return kExitFailed;
  }
  // A pass that fails as a whole still leaves what it received: write that, then
  // report the failure.
  absl::Status pass2 = PassTwo();
  absl::Status comparison = pass2.ok() ? PassComparison() : absl::OkStatus();
  if (absl::Status written = WriteOutputs(); !written.ok()) {
    PrintError(std::string(written.message()));
    return kExitFailed;
  }
  for (const absl::Status& status : {pass2, comparison}) {
    if (!status.ok()) {
      PrintError(absl::StrCat("pass 2: ", DescribeCallError(status, options_.connection),
                              "; the outputs hold what was received"));
      return kExitServer;
    }
  }
  return kExitOk;
}

}  // namespace

int RunGallery(const GalleryOptions& options, std::FILE* out, std::FILE* err) {
  GalleryRun run(options, out, err);
  return run.Run();
}

}  // namespace explainer::client::gallery
