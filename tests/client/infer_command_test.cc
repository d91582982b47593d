// Tests of client/infer_command against the fake server: output files, results
// lines, summary, exit statuses and messages.
#include "client/infer_command.h"

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "client/exit_codes.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/client/fake_explainer_service.h"
#include "tests/client/temp_dir.h"

namespace explainer::client {
namespace {

using ::explainer::testing::FakeServer;
using ::explainer::testing::ReadAll;
using ::explainer::testing::TempDir;
using ::testing::HasSubstr;
using json = nlohmann::json;

struct RunOutput {
  int exit_code;
  std::string out;
  std::string err;
};

RunOutput RunCommand(const InferOptions& options, const TempDir& dir) {
  const std::string out_path = dir.Path("stdout.txt");
  const std::string err_path = dir.Path("stderr.txt");
  std::FILE* out = std::fopen(out_path.c_str(), "w");
  std::FILE* err = std::fopen(err_path.c_str(), "w");
  const int code = RunInfer(options, out, err);
  std::fclose(out);
  std::fclose(err);
  return RunOutput{code, ReadAll(out_path), ReadAll(err_path)};
}

InferOptions Options(const std::string& server, const TempDir& dir) {
  InferOptions options;
  options.connection.server = server;
  options.connection.connect_timeout = absl::Seconds(5);
  options.input_dir = dir.Path("in");
  options.out_dir = dir.Path("out");
  options.thresholds = {0.3f, 0.5f};
  options.window = 2;
  return options;
}

std::vector<json> ReadLines(const std::string& path) {
  std::vector<json> lines;
  for (absl::string_view line : absl::StrSplit(ReadAll(path), '\n', absl::SkipEmpty())) {
    lines.push_back(json::parse(line));
  }
  return lines;
}

TEST(RunInferTest, WritesOutputsResultsAndSummary) {
  FakeServer server;
  TempDir dir;
  dir.Write("in/a.png", "xx");
  dir.Write("in/sub/b.png", "xxx");
  dir.Write("in/bad.png", "bad bytes");
  dir.Write("in/notes.txt", "not an image");
  std::filesystem::create_symlink(dir.Path("in/nowhere.png"), dir.Path("in/broken.png"));
  dir.Write("ann/a.json", "{}");
  InferOptions options = Options(server.address(), dir);
  options.annotations_dir = dir.Path("ann");
  options.heatmap = true;
  options.save_cam = true;

  const RunOutput run = RunCommand(options, dir);
  EXPECT_EQ(run.exit_code, kExitOk) << run.err;
  EXPECT_EQ(run.err, "");  // stderr is a file: no progress bar

  EXPECT_EQ(ReadAll(dir.Path("out/a_overlay.png")), "overlay:a.png");
  EXPECT_EQ(ReadAll(dir.Path("out/sub/b_overlay.png")), "overlay:sub/b.png");
  EXPECT_EQ(ReadAll(dir.Path("out/sub/b_heatmap.png")), "heatmap:sub/b.png");
  const std::string npy = ReadAll(dir.Path("out/sub/b_cam.npy"));
  ASSERT_GT(npy.size(), 10u);
  EXPECT_EQ(npy.substr(0, 6), "\x93NUMPY");
  EXPECT_THAT(npy, HasSubstr("'descr': '<f4'"));
  EXPECT_THAT(npy, HasSubstr("'shape': (2, 3)"));
  EXPECT_FALSE(std::filesystem::exists(dir.Path("out/bad_overlay.png")));

  const std::vector<json> lines = ReadLines(dir.Path("out/results.jsonl"));
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[0]["file"], "a.png");
  EXPECT_EQ(lines[0]["predicted_class"], "Malignant");  // fake: size 2 % 3
  EXPECT_EQ(lines[0]["annotation_file"], dir.Path("ann/a.json"));
  EXPECT_EQ(lines[0]["annotation"]["iou"].dump(), R"({"0.3":0.15,"0.5":0.25})");
  EXPECT_EQ(lines[0]["outputs"]["cam"], "a_cam.npy");
  EXPECT_EQ(lines[1]["file"], "bad.png");
  EXPECT_EQ(lines[1]["error"]["source"], "server");
  EXPECT_THAT(lines[1]["error"]["message"].get<std::string>(), HasSubstr("cannot decode"));
  EXPECT_EQ(lines[2]["file"], "broken.png");
  EXPECT_EQ(lines[2]["error"]["source"], "client");
  EXPECT_EQ(lines[2]["error"]["status"], "NOT_FOUND");
  EXPECT_THAT(lines[2]["error"]["message"].get<std::string>(),
              HasSubstr("cannot read " + dir.Path("in/broken.png") + ": No such file"));
  EXPECT_EQ(lines[3]["file"], "sub/b.png");
  EXPECT_EQ(lines[3]["predicted_class"], "Normal");
  EXPECT_TRUE(lines[3]["annotation"].is_null());

  EXPECT_THAT(run.out, HasSubstr("explainer infer: 4 image(s), 1 with annotations, model "
                                 "\"fake\" 0.1 (Normal, Benign, Malignant) on cpu at " +
                                 server.address()));
  EXPECT_THAT(run.out, HasSubstr("images:     4 (3 answered by the server)"));
  EXPECT_THAT(run.out, HasSubstr("errors:     2 (1 from the server, 1 found by the client)"));
  EXPECT_THAT(run.out, HasSubstr("predicted:  Normal 1, Benign 0, Malignant 1"));
  EXPECT_THAT(run.out, HasSubstr("annotated:  1 images; mean IoU @0.3 0.150  @0.5 0.250"));
  EXPECT_THAT(run.out, HasSubstr("results:    " + dir.Path("out/results.jsonl")));
}

TEST(RunInferTest, TargetClassByNameIsSent) {
  FakeServer server;
  TempDir dir;
  dir.Write("in/a.png", "xx");
  InferOptions options = Options(server.address(), dir);
  options.target_class = "benign";
  const RunOutput run = RunCommand(options, dir);
  ASSERT_EQ(run.exit_code, kExitOk) << run.err;
  const std::vector<json> lines = ReadLines(dir.Path("out/results.jsonl"));
  EXPECT_EQ(lines[0]["explained_class"], "Benign");
  EXPECT_EQ(lines[0]["predicted_class"], "Malignant");
}

TEST(RunInferTest, UnknownTargetClassIsAUsageError) {
  FakeServer server;
  TempDir dir;
  dir.Write("in/a.png", "xx");
  InferOptions options = Options(server.address(), dir);
  options.target_class = "Osteosarcoma";
  const RunOutput run = RunCommand(options, dir);
  EXPECT_EQ(run.exit_code, kExitUsage);
  EXPECT_THAT(run.err, HasSubstr("--target-class: the model has no class 'Osteosarcoma'"));
}

TEST(RunInferTest, EveryItemFailingExitsNonZero) {
  FakeServer server;
  TempDir dir;
  dir.Write("in/a.png", "bad 1");
  dir.Write("in/b.png", "bad 2");
  const RunOutput run = RunCommand(Options(server.address(), dir), dir);
  EXPECT_EQ(run.exit_code, kExitFailed);
  EXPECT_THAT(run.err, HasSubstr("every image failed (2 error(s)); see "));
  EXPECT_EQ(ReadLines(dir.Path("out/results.jsonl")).size(), 2u);
}

TEST(RunInferTest, UnreachableServerSaysWhereAndWhatToDo) {
  TempDir dir;
  dir.Write("in/a.png", "xx");
  InferOptions options = Options("127.0.0.1:1", dir);
  options.connection.connect_timeout = absl::Milliseconds(500);
  const RunOutput run = RunCommand(options, dir);
  EXPECT_EQ(run.exit_code, kExitServer);
  EXPECT_THAT(run.err, HasSubstr("cannot reach the explainer server at 127.0.0.1:1"));
  EXPECT_THAT(run.err, HasSubstr("Is explainer-server running there?"));
}

TEST(RunInferTest, NoImagesIsAFailureAndMissingFolderAUsageError) {
  TempDir dir;
  dir.Write("in/readme.txt", "x");
  RunOutput run = RunCommand(Options("127.0.0.1:1", dir), dir);
  EXPECT_EQ(run.exit_code, kExitFailed);
  EXPECT_THAT(run.err, HasSubstr("--input-dir: no images"));

  InferOptions options = Options("127.0.0.1:1", dir);
  options.input_dir = dir.Path("missing");
  run = RunCommand(options, dir);
  EXPECT_EQ(run.exit_code, kExitUsage);
  EXPECT_THAT(run.err, HasSubstr("--input-dir: " + dir.Path("missing") + " does not exist"));
}

TEST(RunInferTest, UnwritableOutIsReported) {
  TempDir dir;
  dir.Write("in/a.png", "xx");
  dir.Write("file", "x");
  InferOptions options = Options("127.0.0.1:1", dir);
  options.out_dir = dir.Path("file/out");
  const RunOutput run = RunCommand(options, dir);
  EXPECT_EQ(run.exit_code, kExitFailed);
  EXPECT_THAT(run.err, HasSubstr("--out: cannot create the folder " + dir.Path("file/out")));
}

}  // namespace
}  // namespace explainer::client
