// The 36 real BTXRD LabelMe files parse and rasterise to PIL's mask areas.
#include <cstdint>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "common/labelme.h"
#include "common/mask.h"
#include "gtest/gtest.h"
#include "opencv2/core.hpp"
#include "tests/common/test_files.h"
#include "tests/status_matchers.h"
#include "tests/test_paths.h"

namespace explainer::common {
namespace {

using ::explainer::testing::CommonData;
using ::explainer::testing::IsOk;
using ::explainer::testing::ReadFileOrFail;
using ::explainer::testing::SharedDir;

struct GoldenRow {
  std::string file;
  int width = 0;
  int height = 0;
  int shapes = 0;
  int64_t area = 0;
  std::vector<int64_t> shape_areas;
};

// masks/btxrd_areas.csv, written by make_mask_goldens.py with labelme's rules.
std::vector<GoldenRow> ReadGolden() {
  std::vector<GoldenRow> rows;
  std::istringstream csv(ReadFileOrFail(CommonData("masks/btxrd_areas.csv")));
  std::string line;
  std::getline(csv, line);  // header
  while (std::getline(csv, line)) {
    if (line.empty()) continue;
    const std::vector<std::string> f = absl::StrSplit(line, ',');
    EXPECT_EQ(f.size(), 6u) << line;
    if (f.size() != 6) continue;
    GoldenRow row;
    row.file = f[0];
    row.width = std::stoi(f[1]);
    row.height = std::stoi(f[2]);
    row.shapes = std::stoi(f[3]);
    row.area = std::stoll(f[4]);
    for (absl::string_view a : absl::StrSplit(f[5], ';')) {
      row.shape_areas.push_back(std::stoll(std::string(a)));
    }
    rows.push_back(row);
  }
  return rows;
}

// Tolerance: exact areas (union and every shape), since mask.cc reproduces
// Pillow 9.4's integer rules; any difference is a regression.
TEST(BtxrdAnnotationsTest, EveryFileParsesAndMatchesPilAreas) {
  EXPLAINER_NEED_SHARED_DATA("btxrd/annotations");
  const std::string folder = SharedDir() + "/btxrd/annotations/";
  const std::vector<GoldenRow> golden = ReadGolden();
  ASSERT_EQ(golden.size(), 36u);
  int64_t total_golden = 0;
  int64_t total_abs_diff = 0;
  int exact_files = 0;
  for (const GoldenRow& row : golden) {
    SCOPED_TRACE(row.file);
    const std::string text = ReadFileOrFail(folder + row.file);
    ASSERT_FALSE(text.empty()) << "missing " << folder + row.file
                               << " (set EXPLAINER_SHARED_DIR to the shared folder)";
    const absl::StatusOr<LabelMeAnnotation> annotation = ParseLabelMe(text);
    ASSERT_THAT(annotation, IsOk());
    EXPECT_EQ(annotation->image_width, row.width);
    EXPECT_EQ(annotation->image_height, row.height);
    ASSERT_EQ(static_cast<int>(annotation->shapes.size()), row.shapes);
    const cv::Size size(annotation->image_width, annotation->image_height);
    const absl::StatusOr<AnnotationMask> mask = RasterizeAnnotation(*annotation, size);
    ASSERT_THAT(mask, IsOk());
    EXPECT_EQ(mask->shape_count, row.shapes);
    const int64_t area = cv::countNonZero(mask->mask);
    EXPECT_EQ(area, row.area);
    bool exact = area == row.area;
    for (int i = 0; i < row.shapes; ++i) {
      const absl::StatusOr<cv::Mat> shape = ShapeToMask(size, annotation->shapes[i]);
      ASSERT_THAT(shape, IsOk());
      const int64_t shape_area = cv::countNonZero(*shape);
      EXPECT_EQ(shape_area, row.shape_areas[i]) << "shape " << i;
      exact = exact && shape_area == row.shape_areas[i];
    }
    total_golden += row.area;
    total_abs_diff += std::abs(area - row.area);
    exact_files += exact;
  }
  std::cout << "[ btxrd    ] " << golden.size() << " files, " << exact_files
            << " with every area equal to PIL's; union area " << total_golden
            << " px, total |difference| " << total_abs_diff << " px\n";
}

}  // namespace
}  // namespace explainer::common
