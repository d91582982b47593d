// Finding the images of an `infer` run and pairing them with LabelMe annotations.
#ifndef EXPLAINER_CLIENT_IMAGE_WALKER_H_
#define EXPLAINER_CLIENT_IMAGE_WALKER_H_

#include <filesystem>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace explainer::client {

struct ImageItem {
  std::string path;  // the file to read
  // "sub/IMG1.jpeg": relative to the input folder, '/'. Raw bytes: a Linux file
  // name need not be UTF-8 (escape it before it goes on the wire or into JSON).
  std::string relative_path;
  // The id on the wire: valid UTF-8 and unique within one run. The relative path
  // when that is valid UTF-8, else "<index>:<path with invalid bytes as \xHH>".
  std::string request_id;
  std::string annotation_path;  // the paired <stem>.json; empty when none
  // Where this image's outputs go, relative to --out and without the suffix:
  // "sub/IMG1" -> sub/IMG1_overlay.png. Unique within one run.
  std::string output_stem;
  // Not OK: the item is neither read nor sent, and this is its error ("not sent:
  // PATH is a FIFO, not a regular file", a link that leaves the input folder).
  absl::Status skip;
};

struct WalkOptions {
  std::string image;            // one file, or
  std::string input_dir;        // a folder walked recursively
  std::string annotations_dir;  // optional
  // --out. Skipped while walking, so that a second run over a folder that holds
  // its own --out does not pick up the overlays of the first; the same folder as
  // input_dir is refused.
  std::string exclude_dir;
};

// The absolute path of a folder with links, ".", ".." and any trailing '/'
// resolved (as far as it exists), so that two spellings of one folder compare equal.
std::filesystem::path CanonicalFolder(const std::string& dir);

// True for .jpg .jpeg .png .bmp .tif .tiff .webp in any case. (DICOM files are found
// by content whatever their name: client/dicom_files.h.)
bool HasImageExtension(absl::string_view path);

// The images to send, sorted by relative path (byte order) so that runs are
// deterministic. Annotations: <annotations_dir>/<sub>/<stem>.json, else
// <annotations_dir>/<stem>.json (BTXRD's flat Annotations/ folder). Entries that
// merely look like images are kept (a broken link, an unreadable file): reading
// them later fails and is reported per item. Kept but marked `skip` (never read):
// anything that is not a regular file (a FIFO would block the read), and symbolic
// links whose target lies outside input_dir (or, for an annotation, outside
// annotations_dir). Linked folders are not followed, so link loops cannot
// recurse. Errors name the flag: a missing folder, --image naming a folder, a
// folder without any image, --out being the input folder.
absl::StatusOr<std::vector<ImageItem>> FindImages(const WalkOptions& options);

}  // namespace explainer::client

#endif  // EXPLAINER_CLIENT_IMAGE_WALKER_H_
