// Bench inputs: folder images or generated JPEGs; see bench_images.h.
#include "client/bench/bench_images.h"

#include <algorithm>
#include <cmath>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "client/file_io.h"
#include "client/image_walker.h"
#include "opencv2/core.hpp"
#include "opencv2/imgcodecs.hpp"

namespace explainer::client::bench {

absl::StatusOr<std::vector<BenchImage>> LoadFolderImages(const std::string& dir,
                                                         int64_t max_bytes) {
  WalkOptions walk;
  walk.input_dir = dir;
  absl::StatusOr<std::vector<ImageItem>> items = FindImages(walk);
  if (!items.ok()) return items.status();
  std::vector<BenchImage> images;
  for (const ImageItem& item : *items) {
    if (!item.skip.ok()) return item.skip;
    absl::StatusOr<std::string> bytes = ReadFileBytes(item.path, max_bytes);
    if (!bytes.ok()) return bytes.status();
    images.push_back(BenchImage{item.request_id, *std::move(bytes)});
  }
  return images;
}

absl::StatusOr<std::vector<BenchImage>> GenerateImages(int count, int width, int height,
                                                       uint64_t seed) {
  std::vector<BenchImage> images;
  for (int i = 0; i < count; ++i) {
    std::mt19937_64 rng(seed * 1000003u + static_cast<uint64_t>(i));
    std::uniform_real_distribution<float> unit(0.f, 1.f);
    cv::Mat film(height, width, CV_32FC1);
    const float bar_x = (0.3f + 0.4f * unit(rng)) * width;
    const float bar_w = 0.08f * width;
    const int blobs = 1 + static_cast<int>(unit(rng) * 2);
    std::vector<cv::Vec4f> blob(blobs);  // cy, cx, radius, amplitude
    for (cv::Vec4f& b : blob) {
      b = {(0.15f + 0.7f * unit(rng)) * height, (0.15f + 0.7f * unit(rng)) * width,
           (0.06f + 0.08f * unit(rng)) * std::min(width, height), 60.f + 60.f * unit(rng)};
    }
    for (int y = 0; y < height; ++y) {
      float* row = film.ptr<float>(y);
      for (int x = 0; x < width; ++x) {
        const float dx = (x - bar_x) / bar_w;
        float v = 40.f + 60.f * y / height + 90.f * std::exp(-dx * dx);
        for (const cv::Vec4f& b : blob) {
          const float r2 = (y - b[0]) * (y - b[0]) + (x - b[1]) * (x - b[1]);
          v += b[3] * std::exp(-r2 / (2.f * b[2] * b[2]));
        }
        row[x] = v;
      }
    }
    cv::Mat noise(height, width, CV_32FC1);
    cv::RNG cv_rng(rng());
    cv_rng.fill(noise, cv::RNG::NORMAL, 0.0, 6.0);
    film += noise;
    cv::Mat gray, bgr;
    film.convertTo(gray, CV_8UC1);  // saturates to [0, 255]
    cv::merge(std::vector<cv::Mat>{gray, gray, gray}, bgr);
    std::vector<uchar> jpeg;
    if (!cv::imencode(".jpg", bgr, jpeg, {cv::IMWRITE_JPEG_QUALITY, 90})) {
      return absl::InternalError(absl::StrCat("cannot encode generated image ", i, " as JPEG"));
    }
    images.push_back(BenchImage{absl::StrFormat("bench_%04d.jpg", i),
                                std::string(jpeg.begin(), jpeg.end())});
  }
  return images;
}

absl::Status WriteImages(const std::vector<BenchImage>& images, const std::string& dir) {
  for (const BenchImage& image : images) {
    if (absl::Status s = WriteFileBytes(dir + "/" + image.name, image.bytes); !s.ok()) return s;
  }
  return absl::OkStatus();
}

}  // namespace explainer::client::bench
