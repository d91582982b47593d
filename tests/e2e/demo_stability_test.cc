// End-to-end: the demo model's predictions on a fixed set of phantom images are
// stable. explainer-phantom makes the images, explainer-server (demo bundle) and
// the `explainer` client classify them; the expectations were computed
// independently in Python (tests/data/e2e/make_demo_expectations.py).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <iostream>
#include <map>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/e2e/e2e_support.h"
#include "tests/status_matchers.h"
#include "tests/test_paths.h"

namespace explainer::testing {
namespace {

using ::explainer::testing::IsOk;

namespace fs = std::filesystem;
using json = nlohmann::json;

constexpr char kExpectations[] = "tests/data/e2e/demo_expectations.json";
constexpr char kRerun[] =
    "; rerun /usr/bin/python3 tests/data/e2e/make_demo_expectations.py --phantom "
    "<build>/tools/phantom/explainer-phantom and commit demo_expectations.json";

// 64-bit FNV-1a, as the Python script computes it.
std::string Fnv1a64(const std::string& bytes) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char b : bytes) {
    h ^= b;
    h *= 0x100000001b3ULL;
  }
  return absl::StrFormat("%016x", h);
}

TEST(DemoStabilityTest, DemoModelPredictionsMatchThePythonReference) {
  const std::string expectations_path = SourcePath(kExpectations);
  ASSERT_TRUE(fs::exists(expectations_path)) << expectations_path << " is missing" << kRerun;
  const json expected = json::parse(ReadFile(expectations_path));
  const std::string model = SourcePath(expected["model"]["path"].get<std::string>());
  ASSERT_TRUE(fs::exists(model)) << "the demo bundle " << model << " is missing";
  ASSERT_EQ(Fnv1a64(ReadFile(model)), expected["model"]["fnv1a64"].get<std::string>())
      << "the demo bundle changed since the expectations were made" << kRerun;

  const std::string work =
      (fs::path(::testing::TempDir()) / absl::StrCat("explainer_demo_e2e_", getpid())).string();
  fs::remove_all(work);
  const int seed = expected["phantom"]["seed"].get<int>();
  const int count = expected["phantom"]["count"].get<int>();
  const CommandResult phantom = RunCommand({PhantomBinary(), "--out", work + "/demo", "--count",
                                            absl::StrCat(count), "--seed", absl::StrCat(seed)});
  ASSERT_EQ(phantom.exit_code, 0) << phantom.out << phantom.err;
  for (const json& image : expected["images"]) {
    const std::string file = image["file"].get<std::string>();
    ASSERT_EQ(Fnv1a64(ReadFile(work + "/demo/images/" + file)), image["fnv1a64"].get<std::string>())
        << "explainer-phantom no longer makes the same " << file << kRerun;
  }

  auto server = ServerUnderTest::Start(model, work + "/server");
  ASSERT_THAT(server, IsOk());
  const CommandResult run = RunCommand({ClientBinary(), "infer", "--server", (*server)->address(),
                                        "--input-dir", work + "/demo/images", "--annotations-dir",
                                        work + "/demo/Annotations", "--out", work + "/out"});
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;

  std::map<std::string, json> results;
  for (absl::string_view line :
       absl::StrSplit(ReadFile(work + "/out/results.jsonl"), '\n', absl::SkipEmpty())) {
    json parsed = json::parse(line);
    results[parsed["file"].get<std::string>()] = parsed;
  }
  ASSERT_EQ(results.size(), expected["images"].size());
  const double tolerance = expected["tolerance"].get<double>();
  const auto& classes = expected["class_names"];
  double max_deviation = 0;
  for (const json& image : expected["images"]) {
    const std::string file = image["file"].get<std::string>();
    SCOPED_TRACE(file);
    const json& line = results.at(file);
    ASSERT_TRUE(line["error"].is_null()) << line.dump();
    EXPECT_EQ(line["predicted_index"], image["predicted_index"]);
    EXPECT_EQ(line["predicted_class"], image["predicted_class"]);
    for (size_t c = 0; c < classes.size(); ++c) {
      const double got = line["probabilities"][classes[c].get<std::string>()].get<double>();
      const double want = image["probabilities"][c].get<double>();
      EXPECT_NEAR(got, want, tolerance) << classes[c];
      max_deviation = std::max(max_deviation, std::abs(got - want));
    }
  }
  std::cout << "demo stability: " << results.size()
            << " images, largest |p(C++) - p(Python)| = " << max_deviation << "\n";
  EXPECT_TRUE((*server)->Running()) << (*server)->Log();
  server->reset();
  fs::remove_all(work);
}

}  // namespace
}  // namespace explainer::testing
