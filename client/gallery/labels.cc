// Label files and folders, and matching them to images; see labels.h.
#include "client/gallery/labels.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "client/file_io.h"
#include "client/gallery/csv_reader.h"
#include "client/image_walker.h"
#include "common/status_macros.h"

namespace explainer::client::gallery {
namespace fs = std::filesystem;
namespace {

// Label files are text; anything larger is not one.
constexpr int64_t kMaxLabelFileBytes = 256LL * 1024 * 1024;

std::string Lower(absl::string_view text) { return absl::AsciiStrToLower(text); }

std::string Trimmed(absl::string_view text) {
  return std::string(absl::StripAsciiWhitespace(text));
}

// The index of column `name` (any case, trimmed) in `header`, or -1.
int FindColumn(const std::vector<std::string>& header, absl::string_view name) {
  for (size_t i = 0; i < header.size(); ++i) {
    if (Lower(Trimmed(header[i])) == name) return static_cast<int>(i);
  }
  return -1;
}

bool IsBtxrdHeader(const std::vector<std::string>& header) {
  return FindColumn(header, "image_id") >= 0 && FindColumn(header, "benign") >= 0 &&
         FindColumn(header, "malignant") >= 0;
}

bool IsImageLabelHeader(const std::vector<std::string>& row) {
  static const char* const kImageNames[] = {"image", "image_id", "file", "filename", "path"};
  static const char* const kLabelNames[] = {"label", "class"};
  const std::string first = Lower(Trimmed(row[0]));
  for (const char* name : kImageNames) {
    if (first == name) return true;
  }
  if (row.size() < 2) return false;
  const std::string second = Lower(Trimmed(row[1]));
  for (const char* name : kLabelNames) {
    if (second == name) return true;
  }
  return false;
}

absl::StatusOr<bool> ReadFlag(const CsvRow& row, int column, absl::string_view column_name,
                              absl::string_view source) {
  const std::string value = Trimmed(row.cells[column]);
  if (value == "1") return true;
  if (value == "0") return false;
  return absl::InvalidArgumentError(absl::StrCat(
      source, " line ", row.line, ": column ", column_name, " is '", value, "', expected 0 or 1"));
}

std::string Origin(absl::string_view source, int line) {
  return absl::StrCat(fs::path(std::string(source)).filename().string(), " line ", line);
}

}  // namespace

std::string LabelFormatName(LabelFormat format) {
  switch (format) {
    case LabelFormat::kBtxrdCsv:
      return "BTXRD dataset.csv";
    case LabelFormat::kImageLabelCsv:
      return "image,label CSV";
    case LabelFormat::kClassFolders:
      return "folder per class";
  }
  return "unknown";
}

std::string MatchStem(absl::string_view name) {
  const size_t slash = name.find_last_of("/\\");
  if (slash != absl::string_view::npos) name.remove_prefix(slash + 1);
  const size_t dot = name.rfind('.');
  if (dot != absl::string_view::npos && dot > 0 && HasImageExtension(name)) {
    name = name.substr(0, dot);
  }
  return std::string(name);
}

absl::StatusOr<LabelTable> ParseBtxrdCsv(absl::string_view text, absl::string_view source) {
  EXPLAINER_ASSIGN_OR_RETURN(std::vector<CsvRow> rows, ParseCsv(text, source));
  if (rows.empty() || !IsBtxrdHeader(rows[0].cells)) {
    return absl::InvalidArgumentError(
        absl::StrCat(source,
                     ": not BTXRD's dataset.csv (the first row must name the columns image_id, "
                     "benign and malignant)"));
  }
  const std::vector<std::string>& header = rows[0].cells;
  const int id_col = FindColumn(header, "image_id");
  const int benign_col = FindColumn(header, "benign");
  const int malignant_col = FindColumn(header, "malignant");
  LabelTable table;
  table.format = LabelFormat::kBtxrdCsv;
  table.source = std::string(source);
  for (size_t r = 1; r < rows.size(); ++r) {
    const CsvRow& row = rows[r];
    if (row.cells.size() != header.size()) {
      return absl::InvalidArgumentError(
          absl::StrCat(source, " line ", row.line, ": ", row.cells.size(),
                       " columns, but the header has ", header.size()));
    }
    const std::string id = Trimmed(row.cells[id_col]);
    if (id.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(source, " line ", row.line, ": image_id is empty"));
    }
    EXPLAINER_ASSIGN_OR_RETURN(const bool benign, ReadFlag(row, benign_col, "benign", source));
    EXPLAINER_ASSIGN_OR_RETURN(const bool malignant,
                               ReadFlag(row, malignant_col, "malignant", source));
    const char* label = malignant ? "Malignant" : (benign ? "Benign" : "Normal");
    table.entries.push_back(LabelEntry{MatchStem(id), label, Origin(source, row.line)});
  }
  return table;
}

absl::StatusOr<LabelTable> ParseImageLabelCsv(absl::string_view text, absl::string_view source) {
  EXPLAINER_ASSIGN_OR_RETURN(std::vector<CsvRow> rows, ParseCsv(text, source));
  LabelTable table;
  table.format = LabelFormat::kImageLabelCsv;
  table.source = std::string(source);
  size_t first = (!rows.empty() && IsImageLabelHeader(rows[0].cells)) ? 1 : 0;
  for (size_t r = first; r < rows.size(); ++r) {
    const CsvRow& row = rows[r];
    if (row.cells.size() != 2) {
      return absl::InvalidArgumentError(
          absl::StrCat(source, " line ", row.line, ": ", row.cells.size(),
                       " column(s); a label file has two columns, image,label (or is BTXRD's "
                       "dataset.csv, whose header names image_id, benign and malignant)"));
    }
    const std::string image = Trimmed(row.cells[0]);
    const std::string label = Trimmed(row.cells[1]);
    if (image.empty() || label.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          source, " line ", row.line, ": the ", image.empty() ? "image" : "label", " is empty"));
    }
    table.entries.push_back(LabelEntry{MatchStem(image), label, Origin(source, row.line)});
  }
  if (table.entries.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(source, ": no labels in the file"));
  }
  return table;
}

absl::StatusOr<LabelTable> ParseLabelCsv(absl::string_view text, absl::string_view source) {
  EXPLAINER_ASSIGN_OR_RETURN(std::vector<CsvRow> rows, ParseCsv(text, source));
  if (!rows.empty() && IsBtxrdHeader(rows[0].cells)) return ParseBtxrdCsv(text, source);
  return ParseImageLabelCsv(text, source);
}

absl::StatusOr<LabelTable> ReadClassFolders(const std::string& dir,
                                            const std::string& exclude_dir) {
  LabelTable table;
  table.format = LabelFormat::kClassFolders;
  table.source = dir;
  std::error_code ec;
  fs::path exclude;
  if (!exclude_dir.empty()) exclude = CanonicalFolder(exclude_dir);
  std::vector<fs::path> class_dirs;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->is_directory(ec)) class_dirs.push_back(it->path());
  }
  if (ec) {
    return absl::InvalidArgumentError(
        absl::StrCat("--labels: cannot list the folder ", dir, ": ", ec.message()));
  }
  std::sort(class_dirs.begin(), class_dirs.end());
  for (const fs::path& class_dir : class_dirs) {
    std::error_code walk_ec;
    if (!exclude.empty() && CanonicalFolder(class_dir.string()) == exclude) continue;
    std::vector<fs::path> images;
    for (fs::recursive_directory_iterator it(class_dir, walk_ec), end; !walk_ec && it != end;
         it.increment(walk_ec)) {
      if (!exclude.empty() && it->is_directory(walk_ec) &&
          CanonicalFolder(it->path().string()) == exclude) {
        it.disable_recursion_pending();
        continue;
      }
      if (!it->is_directory(walk_ec) && HasImageExtension(it->path().filename().string())) {
        images.push_back(it->path());
      }
    }
    if (walk_ec) {
      return absl::InvalidArgumentError(absl::StrCat("--labels: cannot list the folder ",
                                                     class_dir.string(), ": ", walk_ec.message()));
    }
    std::sort(images.begin(), images.end());
    const std::string label = class_dir.filename().string();
    for (const fs::path& image : images) {
      table.entries.push_back(
          LabelEntry{MatchStem(image.filename().string()), label, image.string()});
    }
  }
  if (table.entries.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--labels: ", dir,
                     " has no class folders with images (expected DIR/<Class>/<image>, e.g. "
                     "DIR/Benign/IMG1.jpeg)"));
  }
  return table;
}

absl::StatusOr<LabelTable> ReadLabels(const std::string& path, const std::string& exclude_dir) {
  std::error_code ec;
  if (path.empty()) return absl::InvalidArgumentError("--labels is required");
  if (fs::is_directory(path, ec)) return ReadClassFolders(path, exclude_dir);
  if (!fs::exists(path, ec)) {
    return absl::NotFoundError(absl::StrCat("--labels: ", path, " does not exist"));
  }
  EXPLAINER_ASSIGN_OR_RETURN(const std::string text, ReadFileBytes(path, kMaxLabelFileBytes),
                             "--labels");
  EXPLAINER_ASSIGN_OR_RETURN(LabelTable table, ParseLabelCsv(text, path), "--labels");
  return table;
}

absl::StatusOr<LabelMatch> MatchLabels(const LabelTable& table,
                                       const std::vector<std::string>& image_stems,
                                       const std::vector<std::string>& class_names) {
  absl::flat_hash_map<std::string, int> class_by_name;
  for (size_t i = 0; i < class_names.size(); ++i) {
    class_by_name.emplace(Lower(class_names[i]), static_cast<int>(i));
  }
  // stem -> (class, index of the entry that set it)
  absl::flat_hash_map<std::string, std::pair<int, size_t>> by_stem;
  for (size_t e = 0; e < table.entries.size(); ++e) {
    const LabelEntry& entry = table.entries[e];
    auto known = class_by_name.find(Lower(entry.label));
    if (known == class_by_name.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--labels: unknown label '", entry.label, "' (", entry.origin,
                       "); the model's classes are ", absl::StrJoin(class_names, ", ")));
    }
    auto [it, inserted] = by_stem.emplace(entry.stem, std::make_pair(known->second, e));
    if (!inserted && it->second.first != known->second) {
      const LabelEntry& earlier = table.entries[it->second.second];
      return absl::InvalidArgumentError(
          absl::StrCat("--labels: ", entry.stem, " has two labels: ", earlier.label, " (",
                       earlier.origin, ") and ", entry.label, " (", entry.origin, ")"));
    }
  }
  LabelMatch match;
  match.true_class.assign(image_stems.size(), -1);
  absl::flat_hash_map<std::string, bool> used;
  for (size_t i = 0; i < image_stems.size(); ++i) {
    auto it = by_stem.find(image_stems[i]);
    if (it == by_stem.end()) {
      match.unlabelled_images.push_back(i);
      continue;
    }
    match.true_class[i] = it->second.first;
    used[image_stems[i]] = true;
  }
  absl::flat_hash_map<std::string, bool> listed;
  for (const LabelEntry& entry : table.entries) {
    if (used.contains(entry.stem) || listed.contains(entry.stem)) continue;
    listed[entry.stem] = true;
    match.labels_without_image.push_back(entry);
  }
  return match;
}

}  // namespace explainer::client::gallery
