// Where tests find committed fixtures and the shared BTXRD data, under both builds.
#ifndef EXPLAINER_TESTS_TEST_PATHS_H_
#define EXPLAINER_TESTS_TEST_PATHS_H_

#include <cstdlib>
#include <string>
#include <sys/stat.h>

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

// Whether a test that needs the real BTXRD files runs, is skipped or fails. A fresh
// clone has no ../shared: its tests skip with a message saying where to put the
// files; CI sets EXPLAINER_REQUIRE_SHARED_DATA=1 so that a missing folder fails.
enum class SharedDataVerdict { kRun, kSkip, kFail };

struct SharedDataCheck {
  SharedDataVerdict verdict = SharedDataVerdict::kRun;
  std::string message;  // empty when kRun
};

// Pure decision, tested by tests/common/shared_data_test.cc: `path` is the file a
// test needs, `exists` whether it is there, `required` the CI switch.
inline SharedDataCheck DecideSharedData(const std::string& path, bool exists,
                                        bool required) {
  if (exists) return {};
  const std::string where =
      path + " is missing: put BTXRD's dataset.csv and annotations/ under "
             "<shared>/btxrd/ and point EXPLAINER_SHARED_DIR at <shared> "
             "(default: ../shared beside the checkout)";
  if (required) {
    return {SharedDataVerdict::kFail,
            where + "; EXPLAINER_REQUIRE_SHARED_DATA=1 makes this a failure"};
  }
  return {SharedDataVerdict::kSkip, "skipped, real BTXRD data absent: " + where};
}

// DecideSharedData for a file under SharedDir(), reading the environment.
inline SharedDataCheck CheckSharedData(const std::string& relative) {
  const std::string path = SharedDir() + "/" + relative;
  struct stat info {};
  const bool exists = ::stat(path.c_str(), &info) == 0;
  const char* required = std::getenv("EXPLAINER_REQUIRE_SHARED_DATA");
  return DecideSharedData(path, exists,
                          required != nullptr && std::string(required) == "1");
}

}  // namespace explainer::testing

// In a GoogleTest body: skips (fresh clone) or fails (CI) when the shared file
// `relative` (e.g. "btxrd/dataset.csv") is absent; otherwise does nothing.
#define EXPLAINER_NEED_SHARED_DATA(relative)                                       \
  do {                                                                             \
    const ::explainer::testing::SharedDataCheck explainer_shared_check_ =          \
        ::explainer::testing::CheckSharedData(relative);                           \
    if (explainer_shared_check_.verdict ==                                         \
        ::explainer::testing::SharedDataVerdict::kSkip) {                          \
      GTEST_SKIP() << explainer_shared_check_.message;                             \
    }                                                                              \
    if (explainer_shared_check_.verdict ==                                         \
        ::explainer::testing::SharedDataVerdict::kFail) {                          \
      FAIL() << explainer_shared_check_.message;                                   \
    }                                                                              \
  } while (false)

#endif  // EXPLAINER_TESTS_TEST_PATHS_H_
