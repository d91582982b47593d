// One gallery pass: a list of entries over one Explain stream of the session, with
// a progress bar (terminal) or start / end lines (pipes) on stderr. Each answer
// becomes an item record; failed ones are also noted as run errors. A further pass
// (another method, another output) is one more call with its own options.
#ifndef EXPLAINER_CLIENT_GALLERY_GALLERY_PASS_H_
#define EXPLAINER_CLIENT_GALLERY_GALLERY_PASS_H_

#include <cstddef>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "client/core/session.h"
#include "client/gallery/gallery_run.h"
#include "explainer/v1/explainer.pb.h"

namespace explainer::client::gallery {

struct PassSpec {
  std::string name;  // "1/2": in messages and in RunError::pass
  std::string what;  // "predictions (no heatmaps)"
  std::vector<size_t> entries;  // indexes into run.inputs.entries
  // The options of an entry's request.
  std::function<explainer::v1::ExplainOptions(size_t entry)> options_for;
};

// Streams spec.entries and calls on_record(entry, record) once per entry (never
// concurrently), whether it succeeded or not; failures are added to run.errors.
// Returns the stream's status.
absl::Status RunGalleryPass(Session& session, GalleryRun& run, const PassSpec& spec,
                            std::FILE* err,
                            const std::function<void(size_t, ItemRecord&)>& on_record);

}  // namespace explainer::client::gallery

#endif  // EXPLAINER_CLIENT_GALLERY_GALLERY_PASS_H_
