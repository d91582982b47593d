// The method comparison section of index.html; see method_comparison_html.h.
#include "client/gallery/method_comparison_html.h"

#include <algorithm>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "client/gallery/html_report.h"
#include "client/results_writer.h"

namespace explainer::client::gallery {
namespace {

using Json = nlohmann::ordered_json;

std::string Text(const Json& value) {
  if (value.is_string()) return HtmlEscape(value.get<std::string>());
  return value.is_null() ? "" : HtmlEscape(value.dump());
}

// A figure to 3 decimals (n/a when undefined), marked when `method` leads it.
std::string FigureCell(const Json& value, const Json& leaders, const std::string& method) {
  const bool leads = leaders.is_array() &&
                     std::find(leaders.begin(), leaders.end(), Json(method)) != leaders.end();
  const std::string shown =
      value.is_number() ? absl::StrFormat("%.3f", value.get<double>()) : "n/a";
  return absl::StrCat(leads ? "<td class=\"diag\" title=\"best of the methods\">" : "<td>", shown,
                      "</td>");
}

std::string ThresholdKeyOf(const Json& threshold) {
  return threshold.is_number() ? ThresholdKey(static_cast<float>(threshold.get<double>()))
                               : Text(threshold);
}

std::string HeaderRow(const char* first, const Json& thresholds) {
  std::string html = absl::StrCat("<tr><th class=\"name\">", first, "</th><th>images</th>");
  for (const Json& t : thresholds) absl::StrAppend(&html, "<th>mean IoU@", ThresholdKeyOf(t), "</th>");
  absl::StrAppend(&html, "<th>pointing game</th><th>energy inside</th><th>failed</th></tr>\n");
  return html;
}

// One method's row of a group's figures; `leaders` marks the best (null: none).
std::string FigureRow(const std::string& method, const Json& group, const Json& thresholds,
                      const Json& leaders, const Json& failed) {
  std::string html = absl::StrCat("<tr><td class=\"name\">", HtmlEscape(method), "</td><td>",
                                  Text(group.value("count", Json())), "</td>");
  const Json mean_iou = group.value("mean_iou", Json::object());
  const Json iou_leaders = leaders.value("mean_iou", Json::object());
  for (const Json& t : thresholds) {
    const std::string key = ThresholdKeyOf(t);
    absl::StrAppend(&html, FigureCell(mean_iou.value(key, Json()),
                                      iou_leaders.value(key, Json()), method));
  }
  absl::StrAppend(&html,
                  FigureCell(group.value("pointing_game_rate", Json()),
                             leaders.value("pointing_game_rate", Json()), method),
                  FigureCell(group.value("mean_energy_inside", Json()),
                             leaders.value("mean_energy_inside", Json()), method),
                  "<td>", Text(failed), "</td></tr>\n");
  return html;
}

}  // namespace

std::string MethodComparisonHtml(const Json& comparison, const Json& thresholds) {
  std::string html = "<h2>Method comparison</h2>\n";
  if (!comparison.is_object()) {
    return absl::StrCat(html,
                        "<p class=\"note\">No method comparison: run with --annotations-dir and "
                        "--methods grad-cam,grad-cam++,... to see which explanation agrees best "
                        "with the annotations.</p>\n");
  }
  const Json methods = comparison.value("methods", Json::array());
  const Json per_method = comparison.value("per_method", Json::object());
  const Json leaders = comparison.value("leaders", Json::object());
  absl::StrAppend(
      &html,
      "<p class=\"note\">Which explanation agrees best with the radiologists' annotations on "
      "this model: every method's heatmaps of the same annotated tumour images, measured "
      "against the annotations as in the annotation report. The best figure of each column is "
      "marked. Requests: ",
      Text(comparison.value("requests", Json())), ".</p>\n<table>", HeaderRow("method", thresholds));
  for (const Json& method : methods) {
    const std::string name = method.get<std::string>();
    const Json figures = per_method.value(name, Json::object());
    absl::StrAppend(&html, FigureRow(name, figures.value("overall", Json::object()), thresholds,
                                     leaders, figures.value("failed_count", Json())));
  }
  absl::StrAppend(&html, "</table>\n<p class=\"note\">Per annotated class, the best, median and "
                  "worst images ranked by ",
                  Text(comparison.value("ranked_by", Json())),
                  ": the annotation, then each method's overlay with the annotation outlined "
                  "(the highest IoU of a row in green).</p>\n");
  const std::string image = comparison.value("image", "");
  absl::StrAppend(&html, "<a href=\"", HtmlEscape(image), "\"><img class=\"sheet\" src=\"",
                  HtmlEscape(image),
                  "\" alt=\"method comparison\" onerror=\"explainerBroken(this)\"></a>\n");
  // Per class: the same figures, without marks (the overall table answers the question).
  absl::StrAppend(&html, "<details><summary>Per class</summary><table>",
                  HeaderRow("class / method", thresholds));
  const Json first = methods.empty() ? Json::object()
                                     : per_method.value(methods[0].get<std::string>(), Json());
  const Json classes = first.value("per_class", Json::object());
  for (const auto& [class_name, unused] : classes.items()) {
    for (const Json& method : methods) {
      const std::string name = method.get<std::string>();
      const Json figures = per_method.value(name, Json::object());
      const Json group =
          figures.value("per_class", Json::object()).value(class_name, Json::object());
      absl::StrAppend(&html, FigureRow(absl::StrCat(class_name, " / ", name), group, thresholds,
                                       Json::object(), Json("")));
    }
  }
  absl::StrAppend(&html, "</table></details>\n");
  return html;
}

}  // namespace explainer::client::gallery
