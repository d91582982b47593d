// --dicom-voi parsing (see dicom_voi_flag.h).
#include "client/dicom_voi_flag.h"

#include <cmath>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace explainer::client {
namespace {

absl::Status Bad(absl::string_view text) {
  return absl::InvalidArgumentError(absl::StrCat(
      "--dicom-voi: \"", text,
      "\" is not a VOI choice; give file, minmax, window:N, lut:N (N from 1) or CENTER,WIDTH "
      "(width > 0), e.g. --dicom-voi=window:2 or --dicom-voi=1500,1000"));
}

}  // namespace

absl::StatusOr<explainer::v1::DicomVoi> ParseDicomVoiFlag(absl::string_view text) {
  explainer::v1::DicomVoi voi;
  const std::string choice = absl::AsciiStrToLower(absl::StripAsciiWhitespace(text));
  if (choice.empty() || choice == "file") return voi;
  if (choice == "minmax" || choice == "min-max") {
    voi.set_min_max(true);
    return voi;
  }
  absl::string_view rest = choice;
  const bool window = absl::ConsumePrefix(&rest, "window:");
  if (window || absl::ConsumePrefix(&rest, "lut:")) {
    uint32_t number = 0;
    if (!absl::SimpleAtoi(rest, &number) || number < 1 || number > 65535) return Bad(text);
    if (window) {
      voi.set_window_number(number);
    } else {
      voi.set_voi_lut_number(number);
    }
    return voi;
  }
  const std::vector<absl::string_view> parts = absl::StrSplit(choice, ',');
  double center = 0;
  double width = 0;
  if (parts.size() != 2 || !absl::SimpleAtod(parts[0], &center) ||
      !absl::SimpleAtod(parts[1], &width) || !std::isfinite(center) || !std::isfinite(width) ||
      !(width > 0)) {
    return Bad(text);
  }
  voi.mutable_window()->set_center(center);
  voi.mutable_window()->set_width(width);
  return voi;
}

}  // namespace explainer::client
