// The end-of-run summary of `infer`: counts, errors, classes, annotation agreement.
#ifndef EXPLAINER_CLIENT_SUMMARY_H_
#define EXPLAINER_CLIENT_SUMMARY_H_

#include <map>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "client/item_record.h"

namespace explainer::client {

struct SummaryFigures {
  int images = 0;    // items the run had
  int answered = 0;  // answers from the server (results and per-item errors)
  int succeeded = 0;
  int server_errors = 0;
  int client_errors = 0;
  std::vector<int> class_counts;     // by predicted index, model order
  int annotated = 0;                 // results with an annotation report
  std::map<float, double> mean_iou;  // threshold -> mean over annotated
  int pointing_hits = 0;
  int overlays = 0, heatmaps = 0, cams = 0;  // files written
  int output_errors = 0;  // succeeded, but the output files could not be written
};

class Summary {
 public:
  static constexpr int kErrorsShown = 5;

  explicit Summary(std::vector<std::string> class_names);

  // `answered`: the server answered (result or per-item error), rather than the
  // client giving up on the item.
  void Add(const ItemRecord& record, bool answered);

  SummaryFigures Figures() const;
  const std::vector<std::string>& first_errors() const { return first_errors_; }

  // The text printed on stdout. `where` lists the output folder and results file.
  std::string Format(absl::Duration wall_time, const std::string& out_dir,
                     const std::string& results_path) const;

 private:
  std::vector<std::string> class_names_;
  SummaryFigures figures_;
  std::map<float, double> iou_sums_;
  std::map<float, int> iou_counts_;
  std::vector<std::string> first_errors_;         // "file: STATUS: message"
  std::vector<std::string> first_output_errors_;  // "file: message"
};

}  // namespace explainer::client

#endif  // EXPLAINER_CLIENT_SUMMARY_H_
