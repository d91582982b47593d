// `explainer infer --input-pacs AET@HOST:PORT --pacs-study UID[,UID...]`: the
// radiographs of whole studies pulled from a PACS with DICOM C-GET (DCMTK dcmnet), so
// the run needs neither a folder export nor a storage SCP listening on the client
// (README "DICOM and PACS" says why C-GET).
#ifndef EXPLAINER_CLIENT_DICOM_PACS_H_
#define EXPLAINER_CLIENT_DICOM_PACS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace explainer::client {

struct PacsSource {
  std::string called_aet;  // the PACS's AE title
  std::string host;
  int port = 0;
  std::string calling_aet = "EXPLAINER";  // ours; the PACS must allow it to C-GET
  std::vector<std::string> study_uids;
  absl::Duration timeout = absl::Seconds(30);  // connection, association and each message
};

// "ORTHANC@127.0.0.1:4242" + "1.2.3,1.2.4" + "EXPLAINER" -> PacsSource. InvalidArgument
// naming the flag (--input-pacs, --pacs-study, --pacs-aet) and the expected form.
absl::StatusOr<PacsSource> ParsePacsFlags(absl::string_view input_pacs,
                                          absl::string_view studies,
                                          absl::string_view calling_aet);

struct PacsPull {
  std::string folder;  // holds image_0001.dcm, ... in SOP Instance UID order
  int images = 0;      // radiographs written
  int own_outputs = 0;  // Explainer's overlays in the studies, not pulled again
  int reports = 0;      // SRs and key object selections, received and dropped
  int failed = 0;       // objects the PACS could not send (classes not asked for, ...)
};

// "3 radiograph(s) pulled from the PACS into DIR (1 Explainer overlay(s) not pulled
// again; 1 report(s) left out)": no UID, no header value.
std::string DescribePull(const PacsPull& pull);

// C-GETs every listed study into `folder` (created; image_*.dcm of an earlier pull
// removed). Image classes a radiograph comes in (CR, DX, SC) are accepted in every
// transfer syntax the decoder reads, so the PACS sends them as stored; SR and key
// object documents are accepted (so the study can be sent whole) and dropped. The
// files are named by position, not by UID: request ids and output names then carry
// nothing of the header (results.jsonl has the SOP Instance UID). Unavailable when
// the PACS cannot be reached or refuses the association (message names it, not the
// study); NotFound when the PACS sends nothing for a study or the studies hold no
// radiograph. Studies are counted in messages, never named by UID.
absl::StatusOr<PacsPull> PullStudies(const PacsSource& source, const std::string& folder);

}  // namespace explainer::client

#endif  // EXPLAINER_CLIENT_DICOM_PACS_H_
