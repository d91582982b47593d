// Ground-truth labels for `explainer gallery`: reading them from BTXRD's
// dataset.csv, a two-column image,label CSV or a folder per class, and matching
// them to the images by file stem.
//
// Detection (--labels PATH):
//  * PATH is a folder: a folder per class. Every immediate subfolder that holds
//    images (searched recursively, by image extension) is a class, named by the
//    folder (DIR/Benign/x.jpg is Benign). Files directly in PATH, and subfolders
//    without images, are ignored.
//  * PATH is a file whose first row has the columns image_id, benign and malignant:
//    BTXRD's dataset.csv. Malignant where malignant is 1, else Benign where benign
//    is 1, else Normal. Those cells must be 0 or 1.
//  * Any other file: two columns, image,label. The first row is a header when its
//    first cell is image, image_id, file, filename or path, or its second cell is
//    label or class (any case); otherwise it is data. Extra columns are an error.
// CSV files may be quoted, use CRLF and start with a UTF-8 BOM.
//
// Matching: by stem, the file name without folders and without an image extension
// (images/IMG000001.jpeg, IMG000001.jpg and IMG000001 all give IMG000001).
// Case-sensitive. Label names match the model's class names in any case.
#ifndef EXPLAINER_CLIENT_GALLERY_LABELS_H_
#define EXPLAINER_CLIENT_GALLERY_LABELS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace explainer::client::gallery {

enum class LabelFormat { kBtxrdCsv, kImageLabelCsv, kClassFolders };

// "BTXRD dataset.csv", "image,label CSV", "folder per class".
std::string LabelFormatName(LabelFormat format);

struct LabelEntry {
  std::string stem;    // what images are matched by
  std::string label;   // as written (BTXRD: Normal, Benign or Malignant)
  std::string origin;  // for messages: "dataset.csv row 12" or the image's path
};

struct LabelTable {
  LabelFormat format = LabelFormat::kImageLabelCsv;
  std::string source;               // the --labels path
  std::vector<LabelEntry> entries;  // file order (folders: sorted by path)
};

// The stem images and labels are matched by (see the file comment).
std::string MatchStem(absl::string_view name);

// Parses BTXRD's dataset.csv text. `source` names the file in messages.
absl::StatusOr<LabelTable> ParseBtxrdCsv(absl::string_view text, absl::string_view source);
// Parses an image,label CSV text.
absl::StatusOr<LabelTable> ParseImageLabelCsv(absl::string_view text, absl::string_view source);
// Detects the format of CSV text (BTXRD header or not) and parses it.
absl::StatusOr<LabelTable> ParseLabelCsv(absl::string_view text, absl::string_view source);
// A folder per class. `exclude_dir` (the --out folder) is never walked.
absl::StatusOr<LabelTable> ReadClassFolders(const std::string& dir,
                                            const std::string& exclude_dir = "");

// --labels PATH: a folder or a CSV file (see the file comment). Errors name
// --labels and the path.
absl::StatusOr<LabelTable> ReadLabels(const std::string& path, const std::string& exclude_dir = "");

// The labels of one run, matched to its images.
struct LabelMatch {
  // Per image (same order as the stems given): class index, or -1 when unlabelled.
  std::vector<int> true_class;
  std::vector<size_t> unlabelled_images;         // indexes of images with no label
  std::vector<LabelEntry> labels_without_image;  // in table order
};

// Resolves every label against `class_names` (any case) and matches the table to
// the images by stem. InvalidArgument, naming the label, its origin and the
// model's classes, for a label the model does not know; InvalidArgument naming
// both origins when one stem is given two different labels (the same label twice
// is accepted).
absl::StatusOr<LabelMatch> MatchLabels(const LabelTable& table,
                                       const std::vector<std::string>& image_stems,
                                       const std::vector<std::string>& class_names);

}  // namespace explainer::client::gallery

#endif  // EXPLAINER_CLIENT_GALLERY_LABELS_H_
