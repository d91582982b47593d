// See gallery_inputs.h.
#include "client/gallery/gallery_inputs.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace explainer::client::gallery {

absl::Status ReadGalleryInputs(const GalleryOptions& options, GalleryInputs& inputs) {
  absl::StatusOr<std::vector<ImageItem>> found =
      FindImages(WalkOptions{"", options.input_dir, options.annotations_dir, options.out_dir});
  if (!found.ok()) return found.status();
  inputs.items = *std::move(found);
  absl::StatusOr<LabelTable> labels = ReadLabels(options.labels, options.out_dir);
  if (!labels.ok()) return absl::InvalidArgumentError(labels.status().message());
  inputs.labels = *std::move(labels);
  return absl::OkStatus();
}

absl::Status MatchGalleryInputs(const GalleryOptions& options,
                                const std::vector<std::string>& class_names,
                                GalleryInputs& inputs) {
  std::vector<std::string> stems;
  for (const ImageItem& item : inputs.items) stems.push_back(MatchStem(item.relative_path));
  absl::StatusOr<LabelMatch> match = MatchLabels(inputs.labels, stems, class_names);
  if (!match.ok()) return absl::InvalidArgumentError(match.status().message());
  inputs.match = *std::move(match);
  for (size_t i = 0; i < inputs.items.size(); ++i) {
    if (inputs.match.true_class[i] < 0) continue;
    inputs.entries.push_back(GalleryEntry{&inputs.items[i], inputs.match.true_class[i]});
  }
  if (!inputs.entries.empty()) return absl::OkStatus();
  std::vector<std::string> image_stems(stems.begin(),
                                       stems.begin() + std::min<size_t>(stems.size(), 3));
  std::vector<std::string> label_stems;
  for (size_t e = 0; e < inputs.labels.entries.size() && e < 3; ++e) {
    label_stems.push_back(inputs.labels.entries[e].stem);
  }
  return absl::NotFoundError(absl::StrCat(
      "none of the ", inputs.items.size(), " image(s) in ", options.input_dir,
      " has a label in ", options.labels,
      " (images are matched by file stem; image stems: ", absl::StrJoin(image_stems, ", "),
      " ...; label stems: ", absl::StrJoin(label_stems, ", "), " ...)"));
}

}  // namespace explainer::client::gallery
