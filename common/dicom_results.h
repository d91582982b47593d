// DICOM output of one explained radiograph, with DCMTK: a Secondary Capture of the
// overlay (RGB) and a Comprehensive SR of the finding, both in the source's study,
// in new series, referencing the source image (and the SR the overlay too).
#ifndef EXPLAINER_COMMON_DICOM_RESULTS_H_
#define EXPLAINER_COMMON_DICOM_RESULTS_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "opencv2/core.hpp"

namespace explainer::common {

// What the result objects take from the source image: the UIDs they reference and
// the Patient and General Study attributes they copy (name, ID, birth date, sex;
// Study Instance UID, date, time, ID, accession number, referring physician), as
// stored. A few hundred bytes, so a queued request can keep it instead of the file.
struct DicomSource {
  std::string sop_class_uid;
  std::string sop_instance_uid;
  std::string study_instance_uid;
  std::string series_instance_uid;
  std::string specific_character_set;  // the copied strings' bytes keep their meaning
  std::vector<std::pair<uint32_t, std::string>> copied;  // (group << 16 | element, value)
};

// Reads the source's header (no pixels). InvalidArgument when the bytes are not a
// readable DICOM file or it lacks a UID the objects must reference (named).
absl::StatusOr<DicomSource> ReadDicomSource(absl::string_view bytes);

struct DicomResultInput {
  DicomSource source;
  cv::Mat overlay_rgb;       // CV_8UC3, the overlay the client writes as PNG
  std::string method;        // "grad-cam": series "Explainer Grad-CAM grad-cam"
  std::vector<std::string> class_names;
  std::vector<float> probabilities;  // one per class
  int predicted_index = 0;
  int explained_index = 0;
  // Annotation IoU report, when the item had an annotation: (threshold, IoU).
  bool has_annotation = false;
  std::vector<std::pair<float, float>> iou;
  bool pointing_game_hit = false;
  // Algorithm identification (IHE AI Results: name, version, parameters).
  std::string model_name;
  std::string model_version;
  std::string bundle_hash;  // empty: not known (written as "unknown")
  std::string explainer_version;
  // New UIDs are <uid_root>.<DCMTK's unique suffix>: digits and dots, at most 32;
  // empty: DCMTK's instance root (1.2.276.0.7230010.3.1.4).
  std::string uid_root;
};

struct DicomResultObjects {
  std::string overlay_sc;  // Part 10 bytes of the Secondary Capture
  std::string sr;          // Part 10 bytes of the Comprehensive SR
  std::string overlay_sop_instance_uid;
  std::string sr_sop_instance_uid;
  std::string series_instance_uid;  // the SC's series (the SR has its own)
};

// Builds both objects. Copied from the source: input.source.copied; nothing else of
// the source header. InvalidArgument when the overlay is not CV_8UC3, the
// probabilities do not match the classes, or the UID root is invalid.
absl::StatusOr<DicomResultObjects> MakeDicomResults(const DicomResultInput& input);

// OK for "" (DCMTK's root) or digits and dots, 1 to 32 characters, not starting or
// ending with a dot; else InvalidArgument with an example.
absl::Status CheckDicomUidRoot(const std::string& root);

// The Explainer version written as the algorithm's software version.
inline constexpr absl::string_view kExplainerVersion = "0.1.0";

}  // namespace explainer::common

#endif  // EXPLAINER_COMMON_DICOM_RESULTS_H_
