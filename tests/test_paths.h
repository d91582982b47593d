// Where tests find committed fixtures and the shared BTXRD data, under both builds.
#ifndef EXPLAINER_TESTS_TEST_PATHS_H_
#define EXPLAINER_TESTS_TEST_PATHS_H_

#include <cstdlib>
#include <string>

namespace explainer::testing {

// Repository root. CMake compiles EXPLAINER_SOURCE_DIR in; under `bazel test` the
// runfiles tree ($TEST_SRCDIR/$TEST_WORKSPACE) mirrors the repository's data deps.
inline std::string SourceRoot() {
  if (const char* srcdir = std::getenv("TEST_SRCDIR")) {
    const char* workspace = std::getenv("TEST_WORKSPACE");
    return std::string(srcdir) + "/" + (workspace ? workspace : "explainer");
  }
#ifdef EXPLAINER_SOURCE_DIR
  return EXPLAINER_SOURCE_DIR;
#else
  return ".";
#endif
}

// A path inside the repository, e.g. SourcePath("tests/data/tiny.png").
inline std::string SourcePath(const std::string& relative) {
  return SourceRoot() + "/" + relative;
}

// The read-only shared data folder (BTXRD metadata and annotations). Defaults to
// ../shared beside the checkout; EXPLAINER_SHARED_DIR overrides (bazel test passes it,
// because the sandbox's runfiles tree has no parent checkout).
inline std::string SharedDir() {
  if (const char* dir = std::getenv("EXPLAINER_SHARED_DIR")) return dir;
#ifdef EXPLAINER_SOURCE_DIR
  return std::string(EXPLAINER_SOURCE_DIR) + "/../shared";
#else
  return "../shared";
#endif
}

}  // namespace explainer::testing

#endif  // EXPLAINER_TESTS_TEST_PATHS_H_
