// See gallery_pass.h.
#include "client/gallery/gallery_pass.h"

#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "client/core/item_exchange.h"
#include "client/progress.h"

namespace explainer::client::gallery {

absl::Status RunGalleryPass(Session& session, GalleryRun& run, const PassSpec& spec,
                            std::FILE* err,
                            const std::function<void(size_t, ItemRecord&)>& on_record) {
  const absl::Time start = absl::Now();
  std::fprintf(err, "explainer gallery: pass %s: %s for %zu image(s)\n", spec.name.c_str(),
               spec.what.c_str(), spec.entries.size());
  std::fflush(err);
  ProgressBar progress(err, isatty(fileno(err)) != 0, static_cast<int>(spec.entries.size()),
                       absl::StrCat("pass ", spec.name, " "));
  int done = 0;
  int failed = 0;
  const std::vector<GalleryEntry>& entries = run.inputs.entries;
  const absl::Status status = session.Stream(
      run.options->window, spec.entries.size(),
      [&](size_t i) {
        return BuildItemRequest(*entries[spec.entries[i]].item, spec.options_for(spec.entries[i]),
                                session.options().max_message_bytes);
      },
      [&](StreamAnswer answer) {
        const size_t entry = spec.entries[answer.index];
        ItemRecord record = RecordAnswer(*entries[entry].item, answer);
        if (record.error) {
          run.errors.push_back(
              RunError{entries[entry].item->relative_path, spec.name, ItemErrorText(*record.error)});
          ++failed;
        }
        on_record(entry, record);
        progress.Update(++done, failed);
      });
  progress.Finish();
  std::fprintf(
      err, "explainer gallery: pass %s: %d answered, %d error(s) in %s\n", spec.name.c_str(),
      done - failed, failed,
      absl::FormatDuration(absl::Trunc(absl::Now() - start, absl::Milliseconds(100))).c_str());
  std::fflush(err);
  return status;
}

}  // namespace explainer::client::gallery
