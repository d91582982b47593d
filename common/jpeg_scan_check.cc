// libjpeg(-turbo) decodes with pixel-data warnings treated as errors: the 1/8-scale check
// and the one-pass checked decode.
#include "common/jpeg_scan_check.h"

#include <csetjmp>
#include <cstdio>
#include <cstdint>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

// jpeglib.h needs FILE and size_t declared first.
#include <jerror.h>
#include <jpeglib.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "opencv2/core.hpp"

namespace explainer::common::internal {
namespace {

// The error manager: libjpeg's, plus where to jump and what went wrong.
struct ErrorManager {
  jpeg_error_mgr base;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

// Warnings that mean the coded pixel data is short or damaged.
bool IsDataWarning(int code) {
  switch (code) {
    case JWRN_HIT_MARKER:         // "Corrupt JPEG data: premature end of data segment"
    case JWRN_JPEG_EOF:           // "Premature end of JPEG file"
    case JWRN_HUFF_BAD_CODE:      // "Corrupt JPEG data: bad Huffman code"
    case JWRN_MUST_RESYNC:        // "Corrupt JPEG data: found marker ... instead of RST"
    case JWRN_NOT_SEQUENTIAL:     // "Invalid SOS parameters for sequential JPEG"
    case JWRN_BOGUS_PROGRESSION:  // "Inconsistent progression sequence ..."
      return true;
    default:
      return false;
  }
}

[[noreturn]] void Fail(j_common_ptr cinfo) {
  ErrorManager* errors = reinterpret_cast<ErrorManager*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, errors->message);
  std::longjmp(errors->jump, 1);
}

void OnError(j_common_ptr cinfo) { Fail(cinfo); }

void OnMessage(j_common_ptr cinfo, int level) {
  if (level < 0 && IsDataWarning(cinfo->err->msg_code)) Fail(cinfo);
  // Trace messages (level >= 0) and metadata warnings are ignored, never printed.
}

// Runs the decode; false (with errors->message set) on the first error or data
// warning. Only trivially destructible locals here: longjmp skips destructors.
bool Decode(absl::string_view bytes, jpeg_decompress_struct* cinfo, ErrorManager* errors,
            JSAMPARRAY* rows, JDIMENSION* row_width) {
  if (setjmp(errors->jump) != 0) return false;
  jpeg_create_decompress(cinfo);
  jpeg_mem_src(cinfo, reinterpret_cast<const unsigned char*>(bytes.data()),
               static_cast<unsigned long>(bytes.size()));
  jpeg_read_header(cinfo, TRUE);
  cinfo->scale_num = 1;
  cinfo->scale_denom = 8;
  cinfo->dct_method = JDCT_IFAST;
  cinfo->do_fancy_upsampling = FALSE;
  cinfo->do_block_smoothing = FALSE;
  jpeg_start_decompress(cinfo);
  *row_width = cinfo->output_width * cinfo->output_components;
  // Freed by jpeg_destroy_decompress with the rest of libjpeg's pools.
  *rows = (*cinfo->mem->alloc_sarray)(reinterpret_cast<j_common_ptr>(cinfo), JPOOL_IMAGE,
                                      *row_width, 1);
  while (cinfo->output_scanline < cinfo->output_height) {
    jpeg_read_scanlines(cinfo, *rows, 1);
  }
  jpeg_finish_decompress(cinfo);
  return true;
}

// Sets up `cinfo` with the error manager that turns data warnings into errors.
void Prepare(jpeg_decompress_struct* cinfo, ErrorManager* errors) {
  std::memset(cinfo, 0, sizeof(*cinfo));
  cinfo->err = jpeg_std_error(&errors->base);
  errors->base.error_exit = OnError;
  errors->base.emit_message = OnMessage;
  errors->message[0] = '\0';
}

absl::Status CorruptJpeg(const ErrorManager& errors) {
  absl::string_view what(errors.message);
  // libjpeg's own prefix repeats ours.
  constexpr absl::string_view kPrefix = "Corrupt JPEG data: ";
  if (what.substr(0, kPrefix.size()) == kPrefix) what.remove_prefix(kPrefix.size());
  return absl::InvalidArgumentError(absl::StrCat("truncated or corrupt JPEG: ", what));
}

bool IsExifSegment(const jpeg_saved_marker_ptr marker) {
  return marker->marker == JPEG_APP0 + 1 && marker->data_length >= 6 &&
         std::memcmp(marker->data, "Exif\0\0", 6) == 0;
}

enum class OnePass { kDecoded, kFailed, kLeftToImdecode, kOtherSize };

// The one-pass decode into `rgb` (allocated here, once the output size is known; a
// cv::Mat is not trivially destructible, so it lives in the caller). As in Decode, no
// destructors may be skipped by the longjmp.
OnePass DecodeRgb(absl::string_view bytes, int scale, cv::Size header_size,
                  jpeg_decompress_struct* cinfo, ErrorManager* errors, cv::Mat* rgb) {
  if (setjmp(errors->jump) != 0) return OnePass::kFailed;
  jpeg_create_decompress(cinfo);
  jpeg_mem_src(cinfo, reinterpret_cast<const unsigned char*>(bytes.data()),
               static_cast<unsigned long>(bytes.size()));
  jpeg_save_markers(cinfo, JPEG_APP0 + 1, 0xffff);
  jpeg_read_header(cinfo, TRUE);
  for (jpeg_saved_marker_ptr m = cinfo->marker_list; m != nullptr; m = m->next) {
    if (IsExifSegment(m)) return OnePass::kLeftToImdecode;
  }
  // The pixel limit was checked on our header parser's size: allocate nothing bigger.
  if (static_cast<int64_t>(cinfo->image_width) != header_size.width ||
      static_cast<int64_t>(cinfo->image_height) != header_size.height) {
    return OnePass::kOtherSize;
  }
  if (cinfo->num_components == 4) return OnePass::kLeftToImdecode;
  if (cinfo->ac_huff_tbl_ptrs[0] == nullptr && cinfo->ac_huff_tbl_ptrs[1] == nullptr &&
      cinfo->dc_huff_tbl_ptrs[0] == nullptr && cinfo->dc_huff_tbl_ptrs[1] == nullptr) {
    return OnePass::kLeftToImdecode;
  }
  cinfo->scale_num = 1;
  cinfo->scale_denom = static_cast<unsigned int>(scale);
  cinfo->out_color_space = JCS_EXT_RGB;  // gray and YCbCr alike, as OpenCV's JCS_EXT_BGR
  cinfo->out_color_components = 3;
  jpeg_start_decompress(cinfo);
  rgb->create(static_cast<int>(cinfo->output_height), static_cast<int>(cinfo->output_width),
              CV_8UC3);
  while (cinfo->output_scanline < cinfo->output_height) {
    JSAMPROW row = rgb->ptr<unsigned char>(static_cast<int>(cinfo->output_scanline));
    jpeg_read_scanlines(cinfo, &row, 1);
  }
  jpeg_finish_decompress(cinfo);
  return OnePass::kDecoded;
}

}  // namespace

absl::StatusOr<std::optional<cv::Mat>> DecodeJpegChecked(absl::string_view bytes, int scale,
                                                          cv::Size header_size) {
  if (scale != 1 && scale != 2 && scale != 4 && scale != 8) {
    return absl::InvalidArgumentError(absl::StrCat("JPEG scale must be 1, 2, 4 or 8, got ", scale));
  }
  jpeg_decompress_struct cinfo;
  ErrorManager errors;
  Prepare(&cinfo, &errors);
  cv::Mat rgb;
  const OnePass result = DecodeRgb(bytes, scale, header_size, &cinfo, &errors, &rgb);
  const cv::Size libjpeg_size(static_cast<int>(cinfo.image_width),
                              static_cast<int>(cinfo.image_height));
  jpeg_destroy_decompress(&cinfo);
  switch (result) {
    case OnePass::kDecoded: return std::optional<cv::Mat>(std::move(rgb));
    case OnePass::kLeftToImdecode: return std::optional<cv::Mat>();
    case OnePass::kOtherSize:
      return absl::InvalidArgumentError(absl::StrCat(
          "corrupt JPEG: libjpeg reads ", libjpeg_size.width, "x", libjpeg_size.height,
          ", the header says ", header_size.width, "x", header_size.height));
    case OnePass::kFailed: break;
  }
  return CorruptJpeg(errors);
}

absl::Status CheckJpegScan(absl::string_view bytes) {
  jpeg_decompress_struct cinfo;
  ErrorManager errors;
  Prepare(&cinfo, &errors);
  JSAMPARRAY rows = nullptr;
  JDIMENSION row_width = 0;
  const bool ok = Decode(bytes, &cinfo, &errors, &rows, &row_width);
  jpeg_destroy_decompress(&cinfo);
  if (ok) return absl::OkStatus();
  return CorruptJpeg(errors);
}

}  // namespace explainer::common::internal
