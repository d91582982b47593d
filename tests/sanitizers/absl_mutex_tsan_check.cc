// Checks absl_mutex_tsan.so, run by scripts/sanitize.sh before the TSan tests: two
// threads share a counter under an absl::Mutex and hand over through an
// absl::Notification, which must pass clean; with the argument "race" they also
// touch a field without the lock, which TSan must report (exit 66). So the
// annotations neither leave false reports nor hide real ones.
#include <cstring>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"

namespace {

absl::Mutex mu;
int guarded = 0;
int unguarded = 0;

}  // namespace

int main(int argc, char** argv) {
  const bool race = argc > 1 && std::strcmp(argv[1], "race") == 0;
  absl::Notification done;
  int handed_over = 0;
  std::thread worker([&] {
    if (race) ++unguarded;
    for (int i = 0; i < 1000; ++i) {
      absl::MutexLock lock(&mu);
      ++guarded;
    }
    handed_over = 1;  // published by Notify, read after WaitForNotification
    done.Notify();
  });
  if (race) ++unguarded;
  for (int i = 0; i < 1000; ++i) {
    absl::MutexLock lock(&mu);
    ++guarded;
  }
  done.WaitForNotification();
  const int seen = handed_over;
  worker.join();
  absl::MutexLock lock(&mu);
  return guarded == 2000 && seen == 1 ? 0 : 1;
}
