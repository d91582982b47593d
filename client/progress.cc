// Progress bar drawing; see progress.h.
#include "client/progress.h"

#include <algorithm>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"

namespace explainer::client {
namespace {

std::string FormatClock(double seconds) {
  const long total = static_cast<long>(seconds + 0.5);
  if (total >= 3600) {
    return absl::StrFormat("%d:%02d:%02d", total / 3600, (total / 60) % 60, total % 60);
  }
  return absl::StrFormat("%d:%02d", total / 60, total % 60);
}

}  // namespace

std::string FormatProgressLine(int done, int total, int errors, absl::Duration elapsed, int width) {
  const double fraction = total > 0 ? std::clamp(double(done) / total, 0.0, 1.0) : 1.0;
  const int filled = static_cast<int>(fraction * width);
  std::string line =
      absl::StrCat("[", std::string(filled, '#'), std::string(width - filled, '.'), "] ");
  const int digits = static_cast<int>(absl::StrCat(total).size());
  absl::StrAppend(&line, absl::StrFormat("%*d/%d %3d%%", digits, done, total,
                                         static_cast<int>(fraction * 100)));
  const double seconds = absl::ToDoubleSeconds(elapsed);
  if (done > 0 && seconds > 0) {
    const double rate = done / seconds;
    absl::StrAppend(&line, absl::StrFormat("  %.1f img/s", rate));
    if (done < total) {
      absl::StrAppend(&line, "  ETA ", FormatClock((total - done) / rate));
    } else {
      absl::StrAppend(&line, "  in ", FormatClock(seconds));
    }
  } else {
    absl::StrAppend(&line, "  -- img/s  ETA --");
  }
  if (errors > 0) absl::StrAppend(&line, "  ", errors, errors == 1 ? " error" : " errors");
  return line;
}

ProgressBar::ProgressBar(std::FILE* out, bool enabled, int total, const std::string& label)
    : out_(out), enabled_(enabled), total_(total), label_(label), start_(absl::Now()) {}

void ProgressBar::Update(int done, int errors) {
  done_ = done;
  errors_ = errors;
  if (!enabled_) return;
  const absl::Time now = absl::Now();
  if (done < total_ && now - last_draw_ < absl::Milliseconds(100)) return;
  last_draw_ = now;
  // \r returns to the line start; \x1b[K clears what a longer previous line left.
  std::fprintf(out_, "\r%s%s\x1b[K", label_.c_str(),
               FormatProgressLine(done, total_, errors, now - start_).c_str());
  std::fflush(out_);
}

void ProgressBar::Finish() {
  if (!enabled_) return;
  std::fprintf(out_, "\r%s%s\x1b[K\n", label_.c_str(),
               FormatProgressLine(done_, total_, errors_, absl::Now() - start_).c_str());
  std::fflush(out_);
}

}  // namespace explainer::client
