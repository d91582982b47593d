// Contract checks inside fuzz targets: a broken promise of the code under test
// aborts, so libFuzzer (and the replay test) report it like a crash.
#ifndef EXPLAINER_TESTS_FUZZ_FUZZ_CHECK_H_
#define EXPLAINER_TESTS_FUZZ_FUZZ_CHECK_H_

#include <cstdio>
#include <cstdlib>

#define EXPLAINER_FUZZ_CHECK(condition, what)                                   \
  do {                                                                          \
    if (!(condition)) {                                                         \
      std::fprintf(stderr, "%s:%d: fuzz contract broken: %s (%s)\n", __FILE__,  \
                   __LINE__, (what), #condition);                               \
      std::abort();                                                             \
    }                                                                           \
  } while (0)

#endif  // EXPLAINER_TESTS_FUZZ_FUZZ_CHECK_H_
