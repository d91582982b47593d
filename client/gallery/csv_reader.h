// A small RFC 4180 CSV reader for label files: quotes, CRLF, a UTF-8 BOM.
#ifndef EXPLAINER_CLIENT_GALLERY_CSV_READER_H_
#define EXPLAINER_CLIENT_GALLERY_CSV_READER_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace explainer::client::gallery {

struct CsvRow {
  int line = 0;  // 1-based line of the file where the row starts, for messages
  std::vector<std::string> cells;
};

// Splits `text` into rows of cells. Fields may be quoted ("a,b", "say ""hi"""),
// quoted fields may hold commas and line breaks; lines end in LF, CRLF or CR; a
// leading UTF-8 byte order mark is dropped; blank lines are skipped. Unquoted
// cells keep their spaces (callers trim where that is meaningful).
// InvalidArgument naming `source` and the line for an unterminated quote or text
// after a closing quote.
absl::StatusOr<std::vector<CsvRow>> ParseCsv(absl::string_view text, absl::string_view source);

}  // namespace explainer::client::gallery

#endif  // EXPLAINER_CLIENT_GALLERY_CSV_READER_H_
