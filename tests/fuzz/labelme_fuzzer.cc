// Fuzz target: untrusted LabelMe JSON (a request's annotation_json) -> ParseLabelMe,
// then every shape rasterised (ShapeToMask, RasterizeAnnotation) on a small canvas
// whose size comes from the input bytes, so that the fuzzer explores clipping on
// many canvas sizes without a big allocation per run.
#include <cstddef>
#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/labelme.h"
#include "common/mask.h"
#include "opencv2/core.hpp"
#include "tests/fuzz/fuzz_check.h"

namespace {

namespace common = explainer::common;

// Canvases up to 64 x 64 from the input; annotations that state a size up to
// 128 x 128 are also rasterised at their own size (the server's normal case).
constexpr int kMaxDerivedSide = 64;
constexpr int kMaxStatedSide = 128;

cv::Size CanvasFromBytes(const uint8_t* data, size_t size) {
  uint32_t hash = 2166136261u;  // FNV-1a
  for (size_t i = 0; i < size; ++i) hash = (hash ^ data[i]) * 16777619u;
  return cv::Size(1 + static_cast<int>(hash % kMaxDerivedSide),
                  1 + static_cast<int>((hash >> 8) % kMaxDerivedSide));
}

void CheckMask(const cv::Mat& mask, cv::Size size) {
  EXPLAINER_FUZZ_CHECK(mask.type() == CV_8UC1 && mask.size() == size,
                       "a mask is CV_8UC1 at the canvas size");
  double lo = 0, hi = 0;
  cv::minMaxLoc(mask, &lo, &hi);
  EXPLAINER_FUZZ_CHECK(lo >= 0 && hi <= 1, "a mask holds only 0 and 1");
}

// The fuzzer looks for wrong answers and crashes, not for slow shapes (the cost
// limits have their own tests): a work bound of 2^22 units, about 4 ms of a release
// build, keeps each input well under libFuzzer's timeout under ASan + UBSan, where a
// circle of radius 2^20 at the default bound took over 10 s.
common::AnnotationLimits FuzzLimits() {
  common::AnnotationLimits limits;
  limits.max_raster_work = int64_t{1} << 22;
  return limits;
}

bool IsRefusal(const absl::Status& status) {
  return status.code() == absl::StatusCode::kInvalidArgument ||
         status.code() == absl::StatusCode::kResourceExhausted;
}

void Rasterize(const common::LabelMeAnnotation& annotation, cv::Size canvas) {
  const absl::StatusOr<common::AnnotationMask> mask =
      common::RasterizeAnnotation(annotation, canvas, {}, FuzzLimits());
  if (!mask.ok()) {
    EXPLAINER_FUZZ_CHECK(IsRefusal(mask.status()),
                         "RasterizeAnnotation fails only with InvalidArgument or "
                         "ResourceExhausted (a cost limit)");
    return;
  }
  CheckMask(mask->mask, canvas);
  EXPLAINER_FUZZ_CHECK(mask->shape_count == static_cast<int>(annotation.shapes.size()),
                       "without a filter every shape counts");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view json(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<common::LabelMeAnnotation> annotation = common::ParseLabelMe(json);
  if (!annotation.ok()) {
    EXPLAINER_FUZZ_CHECK(IsRefusal(annotation.status()),
                         "ParseLabelMe fails only with InvalidArgument or ResourceExhausted");
    EXPLAINER_FUZZ_CHECK(!annotation.status().message().empty(),
                         "errors say what was wrong");
    return 0;
  }

  const cv::Size canvas = CanvasFromBytes(data, size);
  for (const common::LabelMeShape& shape : annotation->shapes) {
    // ShapeToMask has no cost limit of its own: only shapes within FuzzLimits().
    common::LabelMeAnnotation single;
    single.shapes.push_back(shape);
    const absl::StatusOr<common::AnnotationMask> bounded =
        common::RasterizeAnnotation(single, canvas, {}, FuzzLimits());
    if (!bounded.ok() && bounded.status().code() == absl::StatusCode::kResourceExhausted) {
      continue;
    }
    const absl::StatusOr<cv::Mat> mask = common::ShapeToMask(canvas, shape);
    if (mask.ok()) {
      CheckMask(*mask, canvas);
    } else {
      EXPLAINER_FUZZ_CHECK(mask.status().code() == absl::StatusCode::kInvalidArgument,
                           "ShapeToMask fails only with InvalidArgument");
    }
  }

  const int width = annotation->image_width;
  const int height = annotation->image_height;
  if (width > 0 && height > 0 && width <= kMaxStatedSide && height <= kMaxStatedSide) {
    Rasterize(*annotation, cv::Size(width, height));
  }
  // On the derived canvas the stated size (if any) disagrees; drop it so that the
  // union is computed too.
  annotation->image_width = 0;
  annotation->image_height = 0;
  Rasterize(*annotation, canvas);
  return 0;
}
