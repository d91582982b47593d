// RFC 4180 CSV parsing; see csv_reader.h.
#include "client/gallery/csv_reader.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace explainer::client::gallery {

absl::StatusOr<std::vector<CsvRow>> ParseCsv(absl::string_view text, absl::string_view source) {
  if (text.size() >= 3 && text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  std::vector<CsvRow> rows;
  CsvRow row;
  std::string cell;
  int line = 1;
  row.line = 1;
  bool in_quotes = false;
  bool after_quote = false;  // the current cell was quoted and its quote closed
  bool row_has_content = false;
  int quote_line = 0;

  auto end_cell = [&] {
    row.cells.push_back(std::move(cell));
    cell.clear();
    after_quote = false;
  };
  auto end_row = [&] {
    end_cell();
    // A blank line is one empty unquoted cell: skip it.
    if (row_has_content || row.cells.size() > 1 || !row.cells[0].empty()) {
      rows.push_back(std::move(row));
    }
    row = CsvRow();
    row_has_content = false;
  };

  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_quotes) {
      if (c == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          cell.push_back('"');
          ++i;
        } else {
          in_quotes = false;
          after_quote = true;
        }
      } else {
        if (c == '\n' || (c == '\r' && !(i + 1 < text.size() && text[i + 1] == '\n'))) {
          ++line;
        }
        cell.push_back(c);
      }
      continue;
    }
    if (c == ',') {
      end_cell();
      row_has_content = true;
    } else if (c == '\r' || c == '\n') {
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      end_row();
      ++line;
      row.line = line;
    } else if (c == '"' && cell.empty() && !after_quote) {
      in_quotes = true;
      row_has_content = true;
      quote_line = line;
    } else if (after_quote) {
      return absl::InvalidArgumentError(
          absl::StrCat(source, " line ", line, ": unexpected '", std::string(1, c),
                       "' after a closing quote (quotes inside a quoted field are written \"\")"));
    } else {
      cell.push_back(c);
    }
  }
  if (in_quotes) {
    return absl::InvalidArgumentError(absl::StrCat(
        source, " line ", quote_line, ": a quoted field is never closed (missing \")"));
  }
  if (row_has_content || !cell.empty() || !row.cells.empty()) end_row();
  return rows;
}

}  // namespace explainer::client::gallery
