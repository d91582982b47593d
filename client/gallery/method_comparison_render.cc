// Rendering method_comparison.png; see method_comparison_render.h.
#include "client/gallery/method_comparison_render.h"

#include <cctype>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "client/gallery/tile_canvas.h"
#include "client/results_writer.h"
#include "opencv2/imgproc.hpp"

namespace explainer::client::gallery {
namespace {

int SectionHeight(const MethodComparisonLayout& layout, int rows) {
  return layout.section_height + layout.column_height +
         (rows > 0 ? rows * (layout.title_height + layout.image_height) : layout.empty_height);
}

std::string Fixed(const std::optional<double>& value) {
  return value ? absl::StrFormat("%.3f", *value) : "n/a";
}

// The IoU at the ranking threshold of `file` under each method (nullopt: no answer).
std::vector<std::optional<double>> RowScores(const MethodComparison& c, const std::string& file) {
  std::vector<std::optional<double>> scores;
  for (const AnnotationReport& report : c.reports) {
    const AnnotatedImage* image = FindReportImage(report, file);
    scores.push_back(image != nullptr && c.rank_threshold < image->iou.size()
                         ? std::optional<double>(image->iou[c.rank_threshold])
                         : std::nullopt);
  }
  return scores;
}

// The highest of `values`; nullopt when none is defined or all are equal (then no
// method stands out, and none is marked).
std::optional<double> Highest(const std::vector<std::optional<double>>& values) {
  std::optional<double> best;
  bool all_equal = true;
  for (const auto& v : values) {
    all_equal = all_equal && v == values.front();
    if (v && (!best || *v > *best)) best = v;
  }
  return all_equal && values.size() > 1 ? std::nullopt : best;
}

}  // namespace

cv::Size MethodComparisonCanvasSize(const MethodComparisonLayout& layout, size_t methods,
                                    const std::vector<int>& rows_per_section) {
  int height = layout.header_height;
  for (int rows : rows_per_section) height += SectionHeight(layout, rows);
  return cv::Size(static_cast<int>(1 + methods) * layout.tile_width, height);
}

absl::StatusOr<cv::Mat> RenderMethodComparison(const MethodComparison& c,
                                               const MethodComparisonLayout& layout) {
  const size_t methods = c.methods.size();
  if (methods == 0 || c.reports.size() != methods) {
    return absl::InvalidArgumentError(absl::StrCat("method comparison: ", methods,
                                                   " method name(s) but ", c.reports.size(),
                                                   " report(s)"));
  }
  const std::vector<float>& thresholds = c.reports[0].thresholds;
  if (c.rank_threshold >= thresholds.size()) {
    return absl::InvalidArgumentError("method comparison: the ranking threshold is out of range");
  }
  const std::string iou_name = absl::StrCat("IoU@", ThresholdKey(thresholds[c.rank_threshold]));
  std::vector<int> rows_per_section;
  for (const ClassPicks& section : c.classes) {
    rows_per_section.push_back(static_cast<int>(section.picks.size()));
    for (const PickedImage& pick : section.picks) {
      if (pick.overlays.size() != methods || pick.errors.size() != methods) {
        return absl::InvalidArgumentError(absl::StrCat(
            "method comparison: ", pick.file, " has ", pick.overlays.size(), " overlay(s) and ",
            pick.errors.size(), " error(s) for ", methods, " method(s)"));
      }
    }
  }
  const cv::Size size = MethodComparisonCanvasSize(layout, methods, rows_per_section);
  const int w = layout.tile_width;
  cv::Mat canvas(size, CV_8UC3, colors::kPage);
  DrawTextBand(canvas, cv::Rect(0, 0, size.width, layout.header_height),
               {TextLine{"Method comparison: each method's heatmap vs the tumour annotation",
                         colors::kHeaderText, true}},
               font_scale::kHeader, colors::kHeaderBand);
  int top = layout.header_height;
  for (const ClassPicks& section : c.classes) {
    const std::string& name = c.reports[0].class_names.at(section.class_index);
    DrawTextBand(canvas, cv::Rect(0, top, size.width, layout.section_height),
                 {TextLine{absl::StrCat(name, ": best, median and worst of ", section.ranked,
                                        " annotated image(s), ranked by ", c.methods[0], "'s ",
                                        iou_name),
                           colors::kText, true}},
                 font_scale::kSection, colors::kBand);
    top += layout.section_height;
    // Column heads: each method's figures over the class, each figure's leader in
    // green.
    std::vector<std::optional<double>> means, pointing;
    for (const AnnotationReport& report : c.reports) {
      const GroupSummary summary = SummarizeClass(report, section.class_index);
      means.push_back(summary.mean_iou[c.rank_threshold]);
      pointing.push_back(summary.pointing_game_rate);
    }
    const std::optional<double> best_mean = Highest(means);
    const std::optional<double> best_pointing = Highest(pointing);
    auto figure = [](const std::string& name, const std::optional<double>& value,
                     const std::optional<double>& best) {
      const bool leads = best && value && *value == *best;
      return TextLine{absl::StrCat(name, " ", Fixed(value)),
                      leads ? colors::kTruePositive : colors::kText, leads};
    };
    DrawTextBand(canvas, cv::Rect(0, top, w, layout.column_height),
                 {TextLine{"annotation", colors::kText, true},
                  TextLine{"over the class:", colors::kMutedText}},
                 font_scale::kTitle, colors::kEmptyTile);
    for (size_t m = 0; m < methods; ++m) {
      DrawTextBand(canvas, cv::Rect(static_cast<int>(1 + m) * w, top, w, layout.column_height),
                   {TextLine{c.methods[m], colors::kText, true},
                    figure(absl::StrCat("mean ", iou_name), means[m], best_mean),
                    figure("pointing game", pointing[m], best_pointing)},
                   font_scale::kTitle, colors::kEmptyTile);
    }
    top += layout.column_height;
    if (section.picks.empty()) {
      DrawCenteredText(canvas, cv::Rect(0, top, size.width, layout.empty_height),
                       absl::StrCat("no annotated ", name, " images"), font_scale::kSection,
                       colors::kMutedText, 1);
      top += layout.empty_height;
      continue;
    }
    for (const PickedImage& pick : section.picks) {
      const std::vector<std::optional<double>> scores = RowScores(c, pick.file);
      const std::optional<double> best = Highest(scores);
      std::string role = pick.role;
      if (!role.empty()) role[0] = static_cast<char>(std::toupper(role[0]));
      std::vector<std::vector<TextLine>> titles(1 + methods);
      std::vector<cv::Mat> panels(1 + methods);
      titles[0] = {TextLine{absl::StrCat(role, ": ", pick.file), colors::kText, true},
                   TextLine{absl::StrCat("true ", name)}, TextLine{"tumour annotation"}};
      panels[0] = pick.mask;
      for (size_t m = 0; m < methods; ++m) {
        const AnnotatedImage* image = FindReportImage(c.reports[m], pick.file);
        titles[1 + m] = {TextLine{c.methods[m], colors::kText, true}};
        if (image != nullptr) {
          const bool leads = best && scores[m] && *scores[m] == *best;
          titles[1 + m].push_back(TextLine{absl::StrCat(iou_name, " = ", Fixed(scores[m])),
                                           leads ? colors::kTruePositive : colors::kText, leads});
          titles[1 + m].push_back(
              TextLine{absl::StrCat("pointing ", image->pointing_game_hit ? "hit" : "miss",
                                    ", energy ", Fixed(image->energy_inside))});
        }
        if (!pick.errors[m].empty()) {
          titles[1 + m].push_back(TextLine{pick.errors[m], colors::kFalseNegative});
        }
        panels[1 + m] = pick.overlays[m];
      }
      for (size_t col = 0; col <= methods; ++col) {
        const int x = static_cast<int>(col) * w;
        DrawTextBand(canvas, cv::Rect(x, top, w, layout.title_height), titles[col], font_scale::kTitle,
                     colors::kPage);
        const cv::Rect area(x, top + layout.title_height, w, layout.image_height);
        FitToBox(panels[col], area.size(), colors::kImageBox).copyTo(canvas(area));
        cv::rectangle(canvas, cv::Rect(x, top, w, layout.title_height + layout.image_height),
                      colors::kPage, 1);
      }
      top += layout.title_height + layout.image_height;
    }
  }
  if (top != size.height) return absl::InternalError("method comparison: layout height mismatch");
  return canvas;
}

}  // namespace explainer::client::gallery
