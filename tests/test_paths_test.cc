// The fresh-clone rule for tests that need the real BTXRD files: skipped with a
// message when the shared folder is absent, a failure when CI requires the data.
#include "tests/test_paths.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>

#include <unistd.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace explainer::testing {
namespace {

using ::testing::HasSubstr;

// Sets EXPLAINER_SHARED_DIR and EXPLAINER_REQUIRE_SHARED_DATA for one test and
// restores them afterwards (other tests in the binary read them).
class SharedDataEnvTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Save("EXPLAINER_SHARED_DIR", &saved_dir_);
    Save("EXPLAINER_REQUIRE_SHARED_DATA", &saved_required_);
    dir_ = std::filesystem::temp_directory_path() /
           ("explainer_shared_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_ / "btxrd");
    ::setenv("EXPLAINER_SHARED_DIR", dir_.c_str(), 1);
  }
  void TearDown() override {
    std::filesystem::remove_all(dir_);
    Restore("EXPLAINER_SHARED_DIR", saved_dir_);
    Restore("EXPLAINER_REQUIRE_SHARED_DATA", saved_required_);
  }

  static void Save(const char* name, std::optional<std::string>* out) {
    if (const char* value = std::getenv(name)) *out = value;
  }
  static void Restore(const char* name, const std::optional<std::string>& value) {
    if (value.has_value()) {
      ::setenv(name, value->c_str(), 1);
    } else {
      ::unsetenv(name);
    }
  }

  std::filesystem::path dir_;
  std::optional<std::string> saved_dir_;
  std::optional<std::string> saved_required_;
};

TEST_F(SharedDataEnvTest, AbsentFileIsSkippedWithWhereToPutIt) {
  ::unsetenv("EXPLAINER_REQUIRE_SHARED_DATA");
  const SharedDataCheck check = CheckSharedData("btxrd/dataset.csv");
  EXPECT_EQ(check.verdict, SharedDataVerdict::kSkip);
  EXPECT_THAT(check.message, HasSubstr(dir_.string() + "/btxrd/dataset.csv is missing"));
  EXPECT_THAT(check.message, HasSubstr("EXPLAINER_SHARED_DIR"));
}

TEST_F(SharedDataEnvTest, AbsentFileFailsWhenCiRequiresTheData) {
  ::setenv("EXPLAINER_REQUIRE_SHARED_DATA", "1", 1);
  const SharedDataCheck check = CheckSharedData("btxrd/dataset.csv");
  EXPECT_EQ(check.verdict, SharedDataVerdict::kFail);
  EXPECT_THAT(check.message, HasSubstr("EXPLAINER_REQUIRE_SHARED_DATA=1"));
}

TEST_F(SharedDataEnvTest, PresentFileRunsWhateverTheSwitch) {
  std::ofstream(dir_ / "btxrd" / "dataset.csv") << "image_id\n";
  for (const char* required : {"0", "1"}) {
    ::setenv("EXPLAINER_REQUIRE_SHARED_DATA", required, 1);
    const SharedDataCheck check = CheckSharedData("btxrd/dataset.csv");
    EXPECT_EQ(check.verdict, SharedDataVerdict::kRun) << required;
    EXPECT_EQ(check.message, "");
  }
}

}  // namespace
}  // namespace explainer::testing
