// libjpeg(-turbo) decode at 1/8 scale with pixel-data warnings treated as errors.
#include "common/jpeg_scan_check.h"

#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

// jpeglib.h needs FILE and size_t declared first.
#include <jerror.h>
#include <jpeglib.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

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

}  // namespace

absl::Status CheckJpegScan(absl::string_view bytes) {
  jpeg_decompress_struct cinfo;
  ErrorManager errors;
  std::memset(&cinfo, 0, sizeof(cinfo));
  cinfo.err = jpeg_std_error(&errors.base);
  errors.base.error_exit = OnError;
  errors.base.emit_message = OnMessage;
  errors.message[0] = '\0';
  JSAMPARRAY rows = nullptr;
  JDIMENSION row_width = 0;
  const bool ok = Decode(bytes, &cinfo, &errors, &rows, &row_width);
  jpeg_destroy_decompress(&cinfo);
  if (ok) return absl::OkStatus();
  absl::string_view what(errors.message);
  // libjpeg's own prefix repeats ours.
  constexpr absl::string_view kPrefix = "Corrupt JPEG data: ";
  if (what.substr(0, kPrefix.size()) == kPrefix) what.remove_prefix(kPrefix.size());
  return absl::InvalidArgumentError(absl::StrCat("truncated or corrupt JPEG: ", what));
}

}  // namespace explainer::common::internal
