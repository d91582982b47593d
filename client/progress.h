// A one-line progress bar with rate and ETA, for stderr when it is a terminal.
#ifndef EXPLAINER_CLIENT_PROGRESS_H_
#define EXPLAINER_CLIENT_PROGRESS_H_

#include <cstdio>
#include <string>

#include "absl/time/time.h"

namespace explainer::client {

// "[#########...........]  45/120  37%  8.3 img/s  ETA 0:09  2 errors"
// `width` is the bar's width in characters.
std::string FormatProgressLine(int done, int total, int errors, absl::Duration elapsed,
                               int width = 30);

class ProgressBar {
 public:
  // Draws only when `enabled` (the caller passes isatty(stderr)), so that logs and
  // pipes never get carriage-return noise.
  ProgressBar(std::FILE* out, bool enabled, int total, const std::string& label);

  // Redraws at most ten times a second, and always for the last item.
  void Update(int done, int errors);
  // Draws the final state and ends the line.
  void Finish();

 private:
  std::FILE* out_;
  bool enabled_;
  int total_;
  std::string label_;
  absl::Time start_;
  absl::Time last_draw_ = absl::InfinitePast();
  int done_ = 0;
  int errors_ = 0;
};

}  // namespace explainer::client

#endif  // EXPLAINER_CLIENT_PROGRESS_H_
