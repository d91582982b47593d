// What `infer` knows about one image once it is done: the line of results.jsonl
// and the input of the summary.
#ifndef EXPLAINER_CLIENT_ITEM_RECORD_H_
#define EXPLAINER_CLIENT_ITEM_RECORD_H_

#include <optional>
#include <string>

#include "absl/time/time.h"
#include "explainer/v1/explainer.pb.h"

namespace explainer::client {

struct ItemError {
  int code = 0;  // google.rpc.Code
  std::string message;
  // "server": the server's per-item error. "client": found here (unreadable file,
  // too large, stream ended before the answer, output not writable).
  std::string source = "server";
};

// Output files, relative to --out; empty when not written.
struct OutputFiles {
  std::string overlay;
  std::string heatmap;
  std::string cam;
  // --dicom-out, relative to that folder: Secondary Capture and SR of a DICOM input.
  std::string dicom_overlay;
  std::string dicom_sr;
};

struct ItemRecord {
  std::string file;        // relative to the input folder, '/'; raw bytes
  std::string request_id;  // valid UTF-8
  std::string annotation_file;  // the paired LabelMe file as given; empty: none
  // DICOM input: its SOP Instance UID (0008,0018), so that results can be matched
  // to the PACS object; empty for other images.
  std::string sop_instance_uid;
  std::optional<ItemError> error;
  // The server's result without the bulky heatmap / PNG fields (they went to
  // files). Set exactly when error is not.
  std::optional<explainer::v1::ExplainResult> result;
  OutputFiles outputs;
  // Set when the result came but its output files could not be written (the
  // result is kept); empty otherwise.
  std::string output_error;
  absl::Duration round_trip = absl::ZeroDuration();  // client send to answer
};

}  // namespace explainer::client

#endif  // EXPLAINER_CLIENT_ITEM_RECORD_H_
