// Recursive, deterministic image discovery with annotation pairing; see image_walker.h.
#include "client/image_walker.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <system_error>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"

namespace explainer::client {
namespace fs = std::filesystem;
namespace {

constexpr const char* kImageExtensions[] = {".jpg", ".jpeg", ".png", ".bmp",
                                            ".tif", ".tiff", ".webp"};
constexpr const char* kExtensionList = ".jpg .jpeg .png .bmp .tif .tiff .webp";

bool IsFile(const fs::path& path) {
  std::error_code ec;
  return fs::is_regular_file(path, ec);
}

// The paired annotation, or "" when there is none.
std::string FindAnnotation(const fs::path& annotations_dir, const fs::path& rel_dir,
                           const std::string& stem) {
  if (annotations_dir.empty()) return "";
  const std::string name = stem + ".json";
  if (!rel_dir.empty()) {
    const fs::path mirrored = annotations_dir / rel_dir / name;
    if (IsFile(mirrored)) return mirrored.string();
  }
  const fs::path flat = annotations_dir / name;
  return IsFile(flat) ? flat.string() : "";
}

// Gives every item a distinct output stem: "dir/stem", or "dir/stem_ext" for
// images of the same stem in one folder (a.jpg and a.png).
void AssignOutputStems(std::vector<ImageItem>& items) {
  std::map<std::string, int> uses;
  auto plain_stem = [](const ImageItem& item) {
    return fs::path(item.relative_path).replace_extension().generic_string();
  };
  for (const ImageItem& item : items) ++uses[plain_stem(item)];
  std::set<std::string> taken;
  for (ImageItem& item : items) {
    std::string stem = plain_stem(item);
    if (uses[stem] > 1) {
      const fs::path rel(item.relative_path);
      stem = (rel.parent_path() / absl::StrReplaceAll(rel.filename().string(), {{".", "_"}}))
                 .generic_string();
    }
    std::string unique = stem;
    for (int n = 2; taken.count(unique) > 0; ++n) unique = absl::StrCat(stem, "~", n);
    taken.insert(unique);
    item.output_stem = unique;
  }
}

absl::StatusOr<fs::path> CheckAnnotationsDir(const std::string& dir) {
  if (dir.empty()) return fs::path();
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return absl::InvalidArgumentError(absl::StrCat("--annotations-dir: ", dir, " is not a folder"));
  }
  return fs::path(dir);
}

}  // namespace

bool HasImageExtension(absl::string_view path) {
  const std::string ext = absl::AsciiStrToLower(fs::path(std::string(path)).extension().string());
  return std::find(std::begin(kImageExtensions), std::end(kImageExtensions), ext) !=
         std::end(kImageExtensions);
}

absl::StatusOr<std::vector<ImageItem>> FindImages(const WalkOptions& options) {
  auto annotations_dir = CheckAnnotationsDir(options.annotations_dir);
  if (!annotations_dir.ok()) return annotations_dir.status();
  std::error_code ec;

  if (!options.image.empty()) {
    const fs::path image(options.image);
    if (fs::is_directory(image, ec)) {
      return absl::InvalidArgumentError(
          absl::StrCat("--image: ", options.image, " is a folder; use --input-dir for folders"));
    }
    if (!fs::exists(fs::symlink_status(image, ec))) {
      return absl::InvalidArgumentError(
          absl::StrCat("--image: ", options.image, " does not exist"));
    }
    ImageItem item;
    item.path = image.string();
    item.relative_path = image.filename().string();
    item.annotation_path = FindAnnotation(*annotations_dir, fs::path(), image.stem().string());
    item.output_stem = image.stem().string();
    return std::vector<ImageItem>{item};
  }

  const fs::path root(options.input_dir);
  if (!fs::is_directory(root, ec)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--input-dir: ", options.input_dir,
                     fs::exists(root, ec) ? " is not a folder" : " does not exist"));
  }
  fs::path exclude;
  if (!options.exclude_dir.empty()) exclude = fs::weakly_canonical(options.exclude_dir, ec);

  std::vector<ImageItem> items;
  fs::recursive_directory_iterator it(root, fs::directory_options::skip_permission_denied, ec);
  if (ec) {
    return absl::InvalidArgumentError(
        absl::StrCat("--input-dir: cannot list ", options.input_dir, ": ", ec.message()));
  }
  for (; it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) {
      return absl::InternalError(
          absl::StrCat("--input-dir: error while walking ", options.input_dir, ": ", ec.message()));
    }
    const fs::directory_entry& entry = *it;
    std::error_code entry_ec;
    if (entry.is_directory(entry_ec)) {
      if (!exclude.empty() && fs::weakly_canonical(entry.path(), entry_ec) == exclude) {
        it.disable_recursion_pending();
      }
      continue;
    }
    if (!HasImageExtension(entry.path().filename().string())) continue;
    const fs::path rel = entry.path().lexically_relative(root);
    ImageItem item;
    item.path = entry.path().string();
    item.relative_path = rel.generic_string();
    item.annotation_path = FindAnnotation(*annotations_dir, rel.parent_path(), rel.stem().string());
    items.push_back(std::move(item));
  }
  if (items.empty()) {
    return absl::NotFoundError(
        absl::StrCat("--input-dir: no images (", kExtensionList, ") under ", options.input_dir));
  }
  std::sort(items.begin(), items.end(), [](const ImageItem& a, const ImageItem& b) {
    return a.relative_path < b.relative_path;
  });
  AssignOutputStems(items);
  return items;
}

}  // namespace explainer::client
