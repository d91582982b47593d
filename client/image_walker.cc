// Recursive, deterministic image discovery with annotation pairing; see image_walker.h.
#include "client/image_walker.h"

#include <sys/stat.h>

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
#include "client/dicom_files.h"
#include "client/file_io.h"
#include "common/utf8.h"

namespace explainer::client {
namespace fs = std::filesystem;
namespace {

constexpr const char* kImageExtensions[] = {".jpg", ".jpeg", ".png", ".bmp",
                                            ".tif", ".tiff", ".webp"};
constexpr const char* kExtensionList =
    ".jpg .jpeg .png .bmp .tif .tiff .webp, or DICOM files of any name";

bool IsWithin(const fs::path& path, const fs::path& root) {
  auto [r, p] = std::mismatch(root.begin(), root.end(), path.begin(), path.end());
  return r == root.end();
}

// Why `path` must not be read, or OK. `root`: the canonical folder a link must
// stay in; `flag` names it in the message.
absl::Status CheckEntry(const fs::path& path, const fs::path& root, const char* flag) {
  std::error_code ec;
  if (!root.empty() && fs::is_symlink(fs::symlink_status(path, ec))) {
    const fs::path target = fs::canonical(path, ec);
    // A broken link or a loop: reading it reports why.
    if (!ec && !IsWithin(target, root)) {
      return absl::FailedPreconditionError(
          absl::StrCat("not sent: ", path.string(), " is a symbolic link to ", target.string(),
                       ", outside ", flag, " (links that leave it are not followed)"));
    }
  }
  struct stat info;
  if (::stat(path.c_str(), &info) == 0 && !S_ISREG(info.st_mode)) {
    return absl::InvalidArgumentError(absl::StrCat("not sent: ", path.string(), " is ",
                                                   FileKind(info.st_mode),
                                                   ", not a regular file"));
  }
  return absl::OkStatus();
}

// The paired annotation, or "" when there is none. Anything but a folder pairs,
// so that a FIFO or an outside link is reported rather than silently dropped.
std::string FindAnnotation(const fs::path& annotations_dir, const fs::path& rel_dir,
                           const std::string& stem) {
  if (annotations_dir.empty()) return "";
  const std::string name = stem + ".json";
  auto present = [](const fs::path& path) {
    std::error_code ec;
    return fs::exists(fs::symlink_status(path, ec)) && !fs::is_directory(path, ec);
  };
  if (!rel_dir.empty()) {
    const fs::path mirrored = annotations_dir / rel_dir / name;
    if (present(mirrored)) return mirrored.string();
  }
  const fs::path flat = annotations_dir / name;
  return present(flat) ? flat.string() : "";
}

// Request ids and the annotation's checks, once the items are sorted.
void FinishItems(std::vector<ImageItem>& items, const std::string& annotations_dir) {
  const fs::path annotations_root =
      annotations_dir.empty() ? fs::path() : CanonicalFolder(annotations_dir);
  for (size_t i = 0; i < items.size(); ++i) {
    ImageItem& item = items[i];
    item.request_id = common::IsValidUtf8(item.relative_path)
                          ? item.relative_path
                          : absl::StrCat(i, ":", common::ToValidUtf8(item.relative_path));
    if (item.skip.ok() && !item.annotation_path.empty()) {
      item.skip = CheckEntry(item.annotation_path, annotations_root, "--annotations-dir");
    }
  }
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

std::filesystem::path CanonicalFolder(const std::string& dir) {
  std::error_code ec;
  fs::path path = fs::weakly_canonical(fs::absolute(dir, ec), ec);
  if (ec) path = fs::absolute(dir, ec).lexically_normal();
  while (!path.has_filename() && path.has_relative_path()) path = path.parent_path();
  return path;
}

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
    // The user named this file: a link is followed wherever it goes.
    item.skip = CheckEntry(image, fs::path(), "--image");
    std::vector<ImageItem> items{item};
    FinishItems(items, options.annotations_dir);
    return items;
  }

  const fs::path root(options.input_dir);
  if (!fs::is_directory(root, ec)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--input-dir: ", options.input_dir,
                     fs::exists(root, ec) ? " is not a folder" : " does not exist"));
  }
  const fs::path canonical_root = CanonicalFolder(options.input_dir);
  fs::path exclude;
  if (!options.exclude_dir.empty()) {
    exclude = CanonicalFolder(options.exclude_dir);
    if (exclude == canonical_root) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--out: ", options.exclude_dir, " is the same folder as --input-dir ", options.input_dir,
          " (", canonical_root.string(),
          "); a later run would read the overlays back in as images. Give --out a folder of "
          "its own"));
    }
  }

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
    // Linked folders count as folders here and are not entered (the iterator
    // does not follow links), so a link loop cannot recurse.
    if (entry.is_directory(entry_ec)) {
      if (!exclude.empty() && !entry.is_symlink(entry_ec) &&
          CanonicalFolder(entry.path().string()) == exclude) {
        it.disable_recursion_pending();
      }
      continue;
    }
    // DICOM files are found by content ("DICM" at offset 128): PACS exports are often
    // called 1.2.840...., IM0001 or *.dcm.
    if (!HasImageExtension(entry.path().filename().string()) &&
        !(CheckEntry(entry.path(), canonical_root, "--input-dir").ok() &&
          IsDicomFile(entry.path().string()))) {
      continue;
    }
    const fs::path rel = entry.path().lexically_relative(root);
    ImageItem item;
    item.path = entry.path().string();
    item.relative_path = rel.generic_string();
    item.annotation_path = FindAnnotation(*annotations_dir, rel.parent_path(), rel.stem().string());
    item.skip = CheckEntry(entry.path(), canonical_root, "--input-dir");
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
  FinishItems(items, options.annotations_dir);
  return items;
}

}  // namespace explainer::client
