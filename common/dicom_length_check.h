// A walk over a DICOM Part 10 byte stream that checks every declared value length
// against the bytes that are really there, before DCMTK reads the file. DCMTK
// allocates an element's declared length up front when it reads from memory: a
// 144-byte file declaring a 4 GB element made it allocate 4 GB (found by the
// image_decode fuzzer; tests/fuzz/image_decode/regressions/).
#ifndef EXPLAINER_COMMON_DICOM_LENGTH_CHECK_H_
#define EXPLAINER_COMMON_DICOM_LENGTH_CHECK_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace explainer::common {

// OK when every element, sequence and item in `bytes` (the whole file, preamble
// included) declares a length that fits in what follows it, and nesting is at most
// 16 levels deep. InvalidArgument "truncated or corrupt DICOM: element (gggg,eeee)
// declares N bytes at offset O but only M follow" otherwise. Data sets in the deflate
// transfer syntax are compressed: only their meta header is walked (DCMTK inflates
// them with a bounded buffer). A meta header without a Transfer Syntax UID, or with one
// DCMTK does not know, is refused: DCMTK would guess the encoding, and the walk could
// not follow its guess.
absl::Status CheckDicomLengths(absl::string_view bytes);

}  // namespace explainer::common

#endif  // EXPLAINER_COMMON_DICOM_LENGTH_CHECK_H_
