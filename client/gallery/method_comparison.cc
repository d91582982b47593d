// The method comparison's passes and figures; see method_comparison.h.
#include "client/gallery/method_comparison.h"

#include <algorithm>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "client/file_io.h"
#include "client/gallery/selection.h"
#include "client/options.h"
#include "client/results_writer.h"

namespace explainer::client::gallery {
namespace {

using explainer::v1::CamMethod;
using explainer::v1::ExplainOptions;
using explainer::v1::ExplainResult;
using Json = nlohmann::ordered_json;

// A report for `method` with the primary's frame (classes, thresholds, what was
// left out before any request) and no images yet.
AnnotationReport EmptyReportLike(const AnnotationReport& primary, const std::string& method) {
  AnnotationReport report;
  report.class_names = primary.class_names;
  report.normal_class = primary.normal_class;
  report.thresholds = primary.thresholds;
  report.method = method;
  report.normal_left_out = primary.normal_left_out;
  report.without_annotation = primary.without_annotation;
  return report;
}

// The pick's panel for method `m` from an answer with the 8-bit heatmap PNG (the
// overlay drawn here, as the annotation comparison draws the run's method's).
void StorePickPanel(const MethodComparisonInput& input, const ComparedImage& image,
                    const ExplainResult& result, size_t m, PickedImage* pick) {
  absl::StatusOr<std::string> bytes = ReadFileBytes(image.path, input.max_file_bytes);
  absl::StatusOr<std::string> annotation =
      ReadFileBytes(image.annotation_path, input.max_file_bytes);
  absl::StatusOr<ComparisonPanels> panels =
      !bytes.ok()        ? absl::StatusOr<ComparisonPanels>(bytes.status())
      : !annotation.ok() ? absl::StatusOr<ComparisonPanels>(annotation.status())
                         : BuildComparisonPanelsFromHeatmapPng(
                               *bytes, *annotation, result.heatmap_png(),
                               input.base_options.overlay_image_weight(), input.panel_box);
  if (!panels.ok()) {
    pick->errors[m] = std::string(panels.status().message());
    return;
  }
  pick->overlays[m] = panels->overlay;
  if (pick->mask.empty()) pick->mask = panels->mask;
}

// The methods whose `figure` is highest (ties all listed); none when every one is
// undefined.
Json Leaders(const std::vector<std::string>& methods,
             const std::vector<std::optional<double>>& figure) {
  std::optional<double> best;
  for (const std::optional<double>& value : figure) {
    if (value && (!best || *value > *best)) best = value;
  }
  Json leaders = Json::array();
  for (size_t m = 0; m < methods.size(); ++m) {
    if (best && figure[m] && *figure[m] == *best) leaders.push_back(methods[m]);
  }
  return leaders;
}

}  // namespace

const AnnotatedImage* FindReportImage(const AnnotationReport& report, const std::string& file) {
  for (const AnnotatedImage& image : report.images) {
    if (image.file == file) return &image;
  }
  return nullptr;
}

absl::StatusOr<std::vector<CamMethod>> ParseMethodList(absl::string_view text) {
  std::vector<CamMethod> methods;
  for (absl::string_view part : absl::StrSplit(text, ',', absl::SkipWhitespace())) {
    absl::StatusOr<CamMethod> method = ParseCamMethod(part);
    if (!method.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--methods: ", absl::StripPrefix(method.status().message(), "--method: ")));
    }
    if (std::find(methods.begin(), methods.end(), *method) == methods.end()) {
      methods.push_back(*method);
    }
  }
  return methods;
}

std::vector<CamMethod> ComparedMethods(CamMethod primary, const std::vector<CamMethod>& requested) {
  std::vector<CamMethod> methods = {primary};
  for (CamMethod method : requested) {
    if (std::find(methods.begin(), methods.end(), method) == methods.end()) {
      methods.push_back(method);
    }
  }
  return methods;
}

absl::Status CheckMethodsOffered(const std::vector<CamMethod>& methods,
                                 const explainer::v1::ModelInfo& info) {
  if (info.methods_size() == 0) return absl::OkStatus();  // an older server: items will say
  std::vector<std::string> offered;
  for (int m : info.methods()) offered.push_back(CamMethodName(static_cast<CamMethod>(m)));
  for (CamMethod method : methods) {
    if (std::find(info.methods().begin(), info.methods().end(), method) == info.methods().end()) {
      return absl::FailedPreconditionError(
          absl::StrCat("--methods: the server does not offer ", CamMethodName(method),
                       " (it offers ", absl::StrJoin(offered, ", "), ")"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<AnnotatedImage> AnnotatedImageFromResult(const ExplainResult& result,
                                                        const std::string& file,
                                                        const std::string& annotation_file,
                                                        int true_class,
                                                        const std::vector<float>& thresholds) {
  if (!result.has_annotation()) {
    return absl::InvalidArgumentError("the answer has no annotation report");
  }
  const explainer::v1::AnnotationReport& a = result.annotation();
  AnnotatedImage image;
  image.file = file;
  image.annotation = annotation_file;
  image.true_class = true_class;
  image.predicted_class = result.predicted_index();
  image.explained_class = result.explained_index();
  for (const auto& p : result.probabilities()) {
    if (p.index() == result.predicted_index()) image.confidence = p.probability();
  }
  for (float threshold : thresholds) {
    float iou = 0.0f;
    for (const auto& at : a.iou()) {
      if (at.threshold() == threshold) iou = at.iou();
    }
    image.iou.push_back(iou);
  }
  image.pointing_game_hit = a.pointing_game_hit();
  image.energy_inside = a.energy_inside();
  image.mask_area_fraction = a.mask_area_fraction();
  image.shape_count = a.shape_count();
  return image;
}

std::vector<ClassPicks> PickByPrimary(const AnnotationReport& primary, size_t rank_threshold,
                                      size_t methods) {
  std::vector<ClassPicks> classes;
  for (int c : AnnotatedClasses(primary)) {
    ClassPicks class_picks;
    class_picks.class_index = c;
    std::vector<const AnnotatedImage*> images;
    std::vector<double> scores;
    std::vector<std::string> files;
    for (const AnnotatedImage& image : primary.images) {
      if (image.true_class != c) continue;
      images.push_back(&image);
      scores.push_back(rank_threshold < image.iou.size() ? image.iou[rank_threshold] : 0.0);
      files.push_back(image.file);
    }
    class_picks.ranked = static_cast<int>(images.size());
    for (const RankedPick& ranked : SelectBestMedianWorst(scores, files)) {
      PickedImage pick;
      pick.role = ranked.role;
      pick.file = files[ranked.index];
      pick.true_class = c;
      pick.overlays.resize(methods);
      pick.errors.resize(methods);
      class_picks.picks.push_back(std::move(pick));
    }
    classes.push_back(std::move(class_picks));
  }
  return classes;
}

absl::Status RunMethodComparison(const MethodComparisonInput& input,
                                 const ComparisonPassRunner& run_pass,
                                 MethodComparison* comparison) {
  const AnnotationReport& primary = *input.primary;
  comparison->methods.clear();
  for (CamMethod method : input.methods) comparison->methods.push_back(CamMethodName(method));
  comparison->rank_threshold = RankingThresholdIndex(primary.thresholds);
  comparison->reports = {primary};
  comparison->classes = PickByPrimary(primary, comparison->rank_threshold, input.methods.size());

  std::map<std::string, PickedImage*> picked;
  for (ClassPicks& class_picks : comparison->classes) {
    for (PickedImage& pick : class_picks.picks) {
      picked[pick.file] = &pick;
      auto panels = input.primary_panels.find(pick.file);
      if (panels != input.primary_panels.end()) {
        pick.mask = panels->second.mask;
        pick.overlays[0] = panels->second.overlay;
      } else {
        auto error = input.primary_errors.find(pick.file);
        pick.errors[0] = error != input.primary_errors.end() ? error->second : "no panels";
      }
    }
  }

  // The primary's images, each with what it takes to send it again.
  std::vector<const AnnotatedImage*> sent;
  std::vector<const ComparedImage*> sources;
  std::vector<std::string> not_given;
  for (const AnnotatedImage& image : primary.images) {
    auto source = input.images.find(image.file);
    if (source == input.images.end()) {
      not_given.push_back(image.file);
      continue;
    }
    sent.push_back(&image);
    sources.push_back(&source->second);
  }
  std::vector<size_t> keys;
  std::map<size_t, size_t> index_of;  // key -> index into sent
  for (size_t i = 0; i < sources.size(); ++i) {
    keys.push_back(sources[i]->key);
    index_of[sources[i]->key] = i;
  }

  for (size_t m = 1; m < input.methods.size(); ++m) {
    comparison->reports.push_back(EmptyReportLike(primary, comparison->methods[m]));
    AnnotationReport& report = comparison->reports.back();
    for (const std::string& file : not_given) {
      report.failed.push_back(absl::StrCat(file, ": not given to the comparison"));
    }
    const absl::Status status = run_pass(
        comparison->methods[m], keys,
        [&](size_t key) {
          const size_t i = index_of.at(key);
          ExplainOptions options = input.base_options;
          options.set_method(input.methods[m]);
          const bool is_pick = picked.count(sent[i]->file) > 0;
          options.set_return_overlay_png(false);
          options.set_return_raw_heatmap(false);
          options.set_return_heatmap_png(is_pick);
          return options;
        },
        [&](size_t key, const ExplainResult* result, const std::string& error) {
          const size_t i = index_of.at(key);
          const std::string& file = sent[i]->file;
          auto pick = picked.find(file);
          absl::StatusOr<AnnotatedImage> image =
              result == nullptr ? absl::StatusOr<AnnotatedImage>(absl::UnknownError(error))
                                : AnnotatedImageFromResult(*result, file, sent[i]->annotation,
                                                           sent[i]->true_class, primary.thresholds);
          if (!image.ok()) {
            report.failed.push_back(absl::StrCat(file, ": ", image.status().message()));
            if (pick != picked.end()) pick->second->errors[m] = std::string(image.status().message());
            return;
          }
          report.images.push_back(*std::move(image));
          if (pick != picked.end()) StorePickPanel(input, *sources[i], *result, m, pick->second);
        });
    // The primary's order (by file), whatever order the answers came in.
    std::sort(report.images.begin(), report.images.end(),
              [](const AnnotatedImage& a, const AnnotatedImage& b) { return a.file < b.file; });
    if (!status.ok()) return status;
  }
  return absl::OkStatus();
}

Json MethodComparisonToJson(const MethodComparison& comparison) {
  const std::vector<float>& thresholds =
      comparison.reports.empty() ? std::vector<float>{} : comparison.reports[0].thresholds;
  const std::string primary = comparison.methods.empty() ? "" : comparison.methods[0];
  const std::string rank_key = comparison.rank_threshold < thresholds.size()
                                   ? ThresholdKey(thresholds[comparison.rank_threshold])
                                   : "";
  Json j;
  j["methods"] = comparison.methods;
  j["image"] = "method_comparison.png";
  j["ranked_by"] = absl::StrCat("IoU@", rank_key, " of ", primary, " (the run's --method)");
  j["requests"] = absl::StrCat("each annotated tumour image once per method; ", primary,
                               "'s figures are the annotation report's");

  Json per_method = Json::object();
  std::vector<GroupSummary> overall;
  for (size_t m = 0; m < comparison.reports.size(); ++m) {
    const AnnotationReport& report = comparison.reports[m];
    Json full = AnnotationReportToJson(report);
    Json images = Json::array();
    for (const Json& image : full["images"]) {
      images.push_back({{"file", image["file"]},
                        {"iou", image["iou"]},
                        {"pointing_game_hit", image["pointing_game_hit"]},
                        {"energy_inside", image["energy_inside"]}});
    }
    per_method[comparison.methods[m]] = {{"overall", full["overall"]},
                                         {"per_class", full["per_class"]},
                                         {"failed_count", report.failed.size()},
                                         {"failed", report.failed},
                                         {"images", images}};
    overall.push_back(SummarizeAll(report));
  }
  j["per_method"] = per_method;

  // Which method agrees best, figure by figure, over all annotated images.
  Json leaders;
  Json mean_iou = Json::object();
  for (size_t t = 0; t < thresholds.size(); ++t) {
    std::vector<std::optional<double>> figure;
    for (const GroupSummary& g : overall) figure.push_back(g.mean_iou[t]);
    mean_iou[ThresholdKey(thresholds[t])] = Leaders(comparison.methods, figure);
  }
  leaders["mean_iou"] = mean_iou;
  std::vector<std::optional<double>> pointing, energy;
  for (const GroupSummary& g : overall) {
    pointing.push_back(g.pointing_game_rate);
    energy.push_back(g.mean_energy_inside);
  }
  leaders["pointing_game_rate"] = Leaders(comparison.methods, pointing);
  leaders["mean_energy_inside"] = Leaders(comparison.methods, energy);
  j["leaders"] = leaders;

  Json picks = Json::array();
  for (const ClassPicks& class_picks : comparison.classes) {
    const AnnotationReport& report = comparison.reports[0];
    Json rows = Json::array();
    for (const PickedImage& pick : class_picks.picks) {
      Json iou = Json::object();
      Json errors = Json::object();
      for (size_t m = 0; m < comparison.reports.size(); ++m) {
        const AnnotatedImage* image = FindReportImage(comparison.reports[m], pick.file);
        iou[comparison.methods[m]] =
            image != nullptr && comparison.rank_threshold < image->iou.size()
                ? Json(ShortestDouble(image->iou[comparison.rank_threshold]))
                : Json(nullptr);
        if (m < pick.errors.size() && !pick.errors[m].empty()) {
          errors[comparison.methods[m]] = pick.errors[m];
        }
      }
      rows.push_back({{"role", pick.role},
                      {"file", pick.file},
                      {"iou", iou},
                      {"errors", errors}});
    }
    picks.push_back({{"class", report.class_names.at(class_picks.class_index)},
                     {"images_ranked", class_picks.ranked},
                     {"rows", rows}});
  }
  j["picks_iou_threshold"] = rank_key;
  j["picks"] = picks;
  return j;
}

}  // namespace explainer::client::gallery
