// The real explainer-phantom binary: its files do not depend on --threads or on where
// the id range starts, dataset.csv and the annotations are the library's, and bad
// flags are refused before anything is written, with a message naming the flag.
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/test_paths.h"
#include "tools/phantom/btxrd_csv.h"
#include "tools/phantom/labelme_writer.h"
#include "tools/phantom/phantom.h"

namespace explainer::phantom {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

// CMake compiles the build's path in; under `bazel test` it is a data dep.
std::string PhantomBinary() {
#ifdef EXPLAINER_PHANTOM_BIN
  if (std::getenv("TEST_SRCDIR") == nullptr) return EXPLAINER_PHANTOM_BIN;
#endif
  return testing::SourcePath("tools/phantom/explainer-phantom");
}

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// A fresh, empty folder under the test's temporary directory.
fs::path FreshDir(const std::string& name) {
  static std::atomic<int> counter{0};
  const fs::path dir = fs::path(::testing::TempDir()) /
                       absl::StrCat("phantom_cli_", getpid(), "_", counter++, "_", name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

struct Result {
  int exit_code = -1;  // -1: did not exit normally
  std::string err;
};

// Runs the binary with `args` (stdout discarded, stderr kept) through /bin/sh.
Result RunPhantom(const std::vector<std::string>& args) {
  auto quote = [](const std::string& s) { return "'" + s + "'"; };  // no ' in our args
  const fs::path err_path = FreshDir("stderr") / "stderr.txt";
  std::string command = quote(PhantomBinary());
  for (const std::string& a : args) absl::StrAppend(&command, " ", quote(a));
  absl::StrAppend(&command, " >/dev/null 2>", quote(err_path.string()));
  const int status = std::system(command.c_str());
  Result r;
  if (status != -1 && WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
  r.err = ReadFile(err_path);
  fs::remove_all(err_path.parent_path());
  return r;
}

// Every file under `root`, by relative path, with its bytes.
std::map<std::string, std::string> Files(const fs::path& root) {
  std::map<std::string, std::string> files;
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    if (e.is_regular_file()) files[fs::relative(e.path(), root).string()] = ReadFile(e.path());
  }
  return files;
}

// One run shared by the tests below: 12 images of seed 5 on one thread.
class PhantomCliTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new fs::path(FreshDir("threads1"));
    files_ = new std::map<std::string, std::string>;
    const Result r =
        RunPhantom({"--out", dir_->string(), "--count", "12", "--seed", "5", "--threads", "1"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    *files_ = Files(*dir_);
  }
  void SetUp() override { ASSERT_EQ(files_->count("dataset.csv"), 1u) << "the shared run failed"; }
  static void TearDownTestSuite() {
    fs::remove_all(*dir_);
    delete dir_;
    delete files_;
  }
  static fs::path* dir_;
  static std::map<std::string, std::string>* files_;
};
fs::path* PhantomCliTest::dir_ = nullptr;
std::map<std::string, std::string>* PhantomCliTest::files_ = nullptr;

TEST_F(PhantomCliTest, OutputDoesNotDependOnThreads) {
  const fs::path dir = FreshDir("threads2");
  const Result r =
      RunPhantom({"--out", dir.string(), "--count", "12", "--seed", "5", "--threads", "2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::map<std::string, std::string> files = Files(dir);
  ASSERT_EQ(files.size(), files_->size());
  for (const auto& [path, bytes] : *files_) {
    ASSERT_EQ(files.count(path), 1u) << path;
    EXPECT_TRUE(files.at(path) == bytes) << path << " differs";
  }
  fs::remove_all(dir);
}

TEST_F(PhantomCliTest, OutputDoesNotDependOnWhereTheRangeStarts) {
  const fs::path dir = FreshDir("first_id");
  const Result r = RunPhantom(
      {"--out", dir.string(), "--count", "3", "--seed", "5", "--first_id", "8", "--threads", "1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::map<std::string, std::string> files = Files(dir);
  ASSERT_EQ(files.count("dataset.csv"), 1u);
  int compared = 0;
  for (const auto& [path, bytes] : files) {
    if (path == "dataset.csv") continue;
    ASSERT_EQ(files_->count(path), 1u) << path;
    EXPECT_TRUE(files_->at(path) == bytes) << path << " differs";
    ++compared;
  }
  EXPECT_GE(compared, 3);  // three images and their annotations
  const std::vector<std::string> lines = absl::StrSplit(files.at("dataset.csv"), '\n');
  const std::vector<std::string> all = absl::StrSplit(files_->at("dataset.csv"), '\n');
  ASSERT_EQ(lines.size(), 5u);                                   // header, 3 rows, ""
  for (int i = 1; i <= 3; ++i) EXPECT_EQ(lines[i], all[7 + i]);  // ids 8-10
  fs::remove_all(dir);
}

TEST_F(PhantomCliTest, WritesTheLibrarysRowsAndAnnotations) {
  const std::vector<std::string> lines = absl::StrSplit(files_->at("dataset.csv"), '\n');
  ASSERT_EQ(lines.size(), 14u);  // header, 12 rows, "" after the last newline
  EXPECT_EQ(lines[0], kBtxrdHeader);
  EXPECT_EQ(lines[13], "");
  int images = 0, annotations = 0;
  for (int id = 1; id <= 12; ++id) {
    SCOPED_TRACE(id);
    const PhantomCase c = GenerateCase(5, id, DiagnosisFor(5, id, {0.5, 0.4, 0.1}));
    EXPECT_EQ(lines[id], BtxrdRow(c.record));
    images += files_->count("images/" + c.stem + ".jpeg");
    const std::string json = "Annotations/" + c.stem + ".json";
    if (c.lesions.empty()) {
      EXPECT_EQ(files_->count(json), 0u) << "Normal cases have no annotation file";
    } else if (files_->count(json) == 1) {
      EXPECT_EQ(files_->at(json), LabelMeJson(c.lesions, c.record.image_id, c.image.size()));
      ++annotations;
    } else {
      ADD_FAILURE() << json << " missing";
    }
  }
  EXPECT_EQ(images, 12);
  EXPECT_EQ(files_->size(), 1u + images + annotations);  // nothing else
}

struct BadFlags {
  std::vector<std::string> args;  // besides --out
  std::string flag;               // the message must name it
};

// Test names (ctest lists the printed parameter, so it must be short and stable).
void PrintTo(const BadFlags& b, std::ostream* os) { *os << absl::StrJoin(b.args, " "); }

class PhantomCliRejectsTest : public ::testing::TestWithParam<BadFlags> {};

TEST_P(PhantomCliRejectsTest, ExitsWithAMessageNamingTheFlagAndWritesNothing) {
  const fs::path dir = FreshDir("rejected") / "out";
  std::vector<std::string> args = {"--out", dir.string()};
  args.insert(args.end(), GetParam().args.begin(), GetParam().args.end());
  const Result r = RunPhantom(args);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("explainer-phantom: " + GetParam().flag));
  EXPECT_FALSE(fs::exists(dir));
  fs::remove_all(dir.parent_path());
}

INSTANTIATE_TEST_SUITE_P(Flags, PhantomCliRejectsTest,
                         ::testing::Values(BadFlags{{"--class_mix", "1,2"}, "--class_mix"},
                                           BadFlags{{"--class_mix", "1,-1,1"}, "--class_mix"},
                                           BadFlags{{"--class_mix", "0,0,0"}, "--class_mix"},
                                           BadFlags{{"--count", "0"}, "--count"},
                                           BadFlags{{"--threads", "0"}, "--threads"},
                                           BadFlags{{"--first_id", "999999", "--count", "2"},
                                                    "--first_id"}));

TEST(PhantomCliFlagsTest, OutIsRequired) {
  const Result r = RunPhantom({"--count", "1"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("--out is required"));
}

}  // namespace
}  // namespace explainer::phantom
