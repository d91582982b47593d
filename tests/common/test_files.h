// Reading committed fixtures in tests/common: raw bytes, PNG goldens, .npy goldens.
#ifndef EXPLAINER_TESTS_COMMON_TEST_FILES_H_
#define EXPLAINER_TESTS_COMMON_TEST_FILES_H_

#include <cstdint>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "opencv2/core.hpp"
#include "opencv2/imgcodecs.hpp"
#include "opencv2/imgproc.hpp"
#include "tests/test_paths.h"

namespace explainer::testing {

// tests/data/common/<relative>.
inline std::string CommonData(const std::string& relative) {
  return SourcePath("tests/data/common/" + relative);
}

// The whole file; fails the test (and returns "") when it cannot be read.
inline std::string ReadFileOrFail(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot open " << path;
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// A golden PNG read by OpenCV directly (not by the code under test), as RGB or gray.
inline cv::Mat ReadPngRgb(const std::string& path) {
  cv::Mat bgr = cv::imread(path, cv::IMREAD_COLOR);
  EXPECT_FALSE(bgr.empty()) << "cannot read " << path;
  cv::Mat rgb;
  if (!bgr.empty()) cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  return rgb;
}

inline cv::Mat ReadPngGray(const std::string& path) {
  cv::Mat gray = cv::imread(path, cv::IMREAD_GRAYSCALE);
  EXPECT_FALSE(gray.empty()) << "cannot read " << path;
  return gray;
}

// A little-endian float32 C-order .npy written by np.save: its shape and values.
struct NpyArray {
  std::vector<int> shape;
  std::vector<float> values;
};

inline NpyArray ReadNpyFloat32(const std::string& path) {
  NpyArray array;
  const std::string bytes = ReadFileOrFail(path);
  if (bytes.size() < 10 || bytes.compare(0, 6, "\x93NUMPY") != 0) {
    ADD_FAILURE() << path << " is not a .npy file";
    return array;
  }
  const size_t header_len = static_cast<uint8_t>(bytes[8]) | (static_cast<uint8_t>(bytes[9]) << 8);
  const std::string header = bytes.substr(10, header_len);
  EXPECT_NE(header.find("'descr': '<f4'"), std::string::npos) << header;
  EXPECT_NE(header.find("'fortran_order': False"), std::string::npos) << header;
  const size_t open = header.find('(', header.find("'shape'"));
  const size_t close = header.find(')', open);
  std::stringstream dims(header.substr(open + 1, close - open - 1));
  std::string dim;
  size_t count = 1;
  while (std::getline(dims, dim, ',')) {
    if (dim.find_first_not_of(' ') == std::string::npos) continue;
    array.shape.push_back(std::stoi(dim));
    count *= array.shape.back();
  }
  const size_t offset = 10 + header_len;
  EXPECT_EQ(bytes.size(), offset + count * sizeof(float)) << path;
  array.values.resize(count);
  if (bytes.size() >= offset + count * sizeof(float)) {
    std::memcpy(array.values.data(), bytes.data() + offset, count * sizeof(float));
  }
  return array;
}

// A 2-D .npy as a CV_32FC1 matrix.
inline cv::Mat NpyToMat(const NpyArray& array) {
  if (array.shape.size() != 2) {
    ADD_FAILURE() << "expected a 2-D array";
    return cv::Mat();
  }
  cv::Mat mat(array.shape[0], array.shape[1], CV_32FC1);
  std::memcpy(mat.data, array.values.data(), array.values.size() * sizeof(float));
  return mat;
}

}  // namespace explainer::testing

#endif  // EXPLAINER_TESTS_COMMON_TEST_FILES_H_
