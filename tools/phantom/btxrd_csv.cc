// dataset.csv rows for the phantom generator.
#include "tools/phantom/btxrd_csv.h"

#include <vector>

#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace explainer::phantom {

std::string BtxrdRow(const CaseRecord& r) {
  const std::vector<std::string> columns = absl::StrSplit(kBtxrdHeader, ',');
  std::vector<std::string> row;
  row.reserve(columns.size());
  for (const std::string& col : columns) {
    if (col == "image_id") {
      row.push_back(r.image_id);
    } else if (col == "center") {
      row.push_back(std::to_string(r.center));
    } else if (col == "age") {
      row.push_back(std::to_string(r.age));
    } else if (col == "gender") {
      row.push_back(std::string(1, r.gender));
    } else {
      bool on = r.sites.count(col) > 0 || col == r.subtype || col == r.region || col == r.view;
      if (col == "tumor") on = r.diagnosis != Diagnosis::kNormal;
      if (col == "benign") on = r.diagnosis == Diagnosis::kBenign;
      if (col == "malignant") on = r.diagnosis == Diagnosis::kMalignant;
      row.push_back(on ? "1" : "0");
    }
  }
  return absl::StrJoin(row, ",");
}

}  // namespace explainer::phantom
