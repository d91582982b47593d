// DICOM Part 10 projection radiographs -> the RGB 8-bit frame every later stage uses,
// with DCMTK (dcmdata, dcmimgle and its JPEG, JPEG-LS and RLE decoders).
#ifndef EXPLAINER_COMMON_DICOM_DECODE_H_
#define EXPLAINER_COMMON_DICOM_DECODE_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/image_decode.h"
#include "opencv2/core.hpp"

namespace explainer::common {

// True when `bytes` is a DICOM Part 10 file: "DICM" at offset 128, after the preamble.
bool LooksLikeDicom(absl::string_view bytes);

// What the rest of the system may need from a DICOM header. UIDs identify a patient's
// study: they must never reach a log unhashed (README "DICOM and PACS").
struct DicomHeader {
  int width = 0;   // Columns
  int height = 0;  // Rows
  int frames = 1;  // NumberOfFrames
  std::string transfer_syntax_uid;
  std::string transfer_syntax_name;
  std::string sop_class_uid;
  std::string sop_instance_uid;
  std::string study_instance_uid;
  std::string series_instance_uid;
  std::string modality;
  std::string photometric_interpretation;
};

// Parses the file meta information and the data set up to the pixel data (pixels are
// not read). InvalidArgument when the bytes are not a readable DICOM Part 10 file.
absl::StatusOr<DicomHeader> ReadDicomHeader(absl::string_view bytes);

// Decodes a single-frame MONOCHROME1/2 image with 8 to 16 bits stored, signed or not,
// in implicit/explicit VR little endian, deflate, JPEG baseline/extended/lossless,
// JPEG-LS or RLE, into CV_8UC3 RGB (three equal channels):
//   stored values -> Modality LUT (rescale slope/intercept, or the LUT sequence)
//   -> VOI: options.dicom_window if set, else the first VOI LUT sequence item, else
//      the first window centre/width, else the min-max of the modality values
//   -> 0..255, MONOCHROME1 inverted so that bone is bright as in the training images.
// Errors: InvalidArgument naming the transfer syntax or attribute that is not
// supported, or what is truncated or missing; ResourceExhausted when Rows x Columns
// (read before any pixel is decoded) is over options.max_pixels.
absl::StatusOr<cv::Mat> DecodeDicom(absl::string_view bytes, const DecodeOptions& options = {});

}  // namespace explainer::common

#endif  // EXPLAINER_COMMON_DICOM_DECODE_H_
