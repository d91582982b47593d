// Tests of client/infer_command against the fake server: output files, results
// lines, summary, exit statuses and messages.
#include "client/infer_command.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <functional>
#include <future>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "client/exit_codes.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/client/fake_explainer_service.h"
#include "tests/client/temp_dir.h"

namespace explainer::client {
namespace {

using ::explainer::testing::FakeBehaviour;
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
  options.explain.thresholds = {0.3f, 0.5f};
  options.window = 2;
  // The fake's overlay PNGs are placeholder bytes ("overlay:<id>"); the client's own
  // rendering (the default) is tested below with a real image.
  options.server_overlay = true;
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
  options.explain.target_class = "benign";
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
  options.explain.target_class = "Osteosarcoma";
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

// RunCommand, but a run still going after `limit` fails the test instead of
// hanging it: `unblock` (e.g. opening a FIFO for writing) is called first so that
// the stuck run can end.
RunOutput RunWithin(absl::Duration limit, const InferOptions& options, const TempDir& dir,
                    const std::function<void()>& unblock) {
  auto run = std::async(std::launch::async, [&] { return RunCommand(options, dir); });
  if (run.wait_for(absl::ToChronoSeconds(limit)) != std::future_status::ready) {
    ADD_FAILURE() << "infer did not finish within " << limit;
    unblock();
  }
  return run.get();
}

void OpenForWriting(const std::string& fifo) {
  const int fd = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK);
  if (fd >= 0) ::close(fd);
}

TEST(RunInferTest, NonUtf8FileNameDoesNotCutTheStream) {
  FakeServer server;
  TempDir dir;
  dir.Write("in/a.png", "xx");
  dir.Write(std::string("in/b\xff.png"), "xxx");
  dir.Write("in/c.png", "xxxx");
  dir.Write("in/d.png", "xxxxx");
  InferOptions options = Options(server.address(), dir);
  options.window = 1;  // c and d go after b
  const RunOutput run = RunCommand(options, dir);
  EXPECT_EQ(run.exit_code, kExitOk) << run.err;
  EXPECT_EQ(server.service().requests_seen(), 4);
  const std::vector<json> lines = ReadLines(dir.Path("out/results.jsonl"));
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[1]["file"], "b\\xff.png");
  EXPECT_EQ(lines[1]["request_id"], "1:b\\xff.png");
  EXPECT_EQ(lines[1]["outputs"]["overlay"], "b\\xff_overlay.png");
  // The overlay goes next to the others under the file's own (raw) name.
  EXPECT_EQ(ReadAll(dir.Path(std::string("out/b\xff_overlay.png"))), "overlay:1:b\\xff.png");
  for (const json& line : lines) EXPECT_TRUE(line["error"].is_null()) << line.dump();
  EXPECT_THAT(run.out, HasSubstr("images:     4 (4 answered by the server)"));
}

TEST(RunInferTest, UnparseableAnswerEndsTheRunWithAClearErrorAndKeepsEarlierAnswers) {
  FakeBehaviour behaviour;
  behaviour.garble_answer = 1;  // b's answer
  behaviour.hold_open = true;   // and the server would never end the call
  FakeServer server(behaviour);
  TempDir dir;
  dir.Write("in/a.png", "xx");
  dir.Write("in/b.png", "xxx");
  dir.Write("in/c.png", "xxxx");
  InferOptions options = Options(server.address(), dir);
  options.window = 1;
  options.connection.deadline = absl::Seconds(30);
  const RunOutput run = RunWithin(absl::Seconds(15), options, dir, [&] { server.Shutdown(); });
  EXPECT_EQ(run.exit_code, kExitServer);
  EXPECT_THAT(run.err, HasSubstr("explainer infer: the stream from the explainer server at " +
                                 server.address() +
                                 " broke: reading the server's answers failed with 1 request(s) "
                                 "unanswered: the next message on the stream was not a valid "
                                 "ExplainResponse (e.g. invalid UTF-8 in a string field)"));
  EXPECT_THAT(run.err, HasSubstr("1 of 3 image(s) were answered"));
  const std::vector<json> lines = ReadLines(dir.Path("out/results.jsonl"));
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0]["predicted_class"], "Malignant");  // kept
  EXPECT_EQ(ReadAll(dir.Path("out/a_overlay.png")), "overlay:a.png");
  EXPECT_EQ(lines[1]["error"]["status"], "DATA_LOSS");
  EXPECT_EQ(lines[2]["error"]["status"], "DATA_LOSS");
}

TEST(RunInferTest, FifoInTheInputIsReportedAndNeverRead) {
  FakeServer server;
  TempDir dir;
  dir.Write("in/a.png", "xx");
  ASSERT_EQ(::mkfifo(dir.Path("in/b.jpg").c_str(), 0600), 0);
  dir.Write("in/c.png", "xxx");
  InferOptions options = Options(server.address(), dir);
  options.connection.deadline = absl::Seconds(2);
  const RunOutput run =
      RunWithin(absl::Seconds(20), options, dir, [&] { OpenForWriting(dir.Path("in/b.jpg")); });
  EXPECT_EQ(run.exit_code, kExitOk) << run.err;
  EXPECT_EQ(server.service().requests_seen(), 2);
  const std::vector<json> lines = ReadLines(dir.Path("out/results.jsonl"));
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[1]["file"], "b.jpg");
  EXPECT_EQ(lines[1]["error"]["source"], "client");
  EXPECT_EQ(lines[1]["error"]["message"],
            "not sent: " + dir.Path("in/b.jpg") + " is a FIFO, not a regular file");
  EXPECT_THAT(run.out, HasSubstr("errors:     1 (0 from the server, 1 found by the client)"));
}

TEST(RunInferTest, FifoAsImageOrAnnotationIsReportedAndNeverRead) {
  FakeServer server;
  TempDir dir;
  ASSERT_EQ(::mkfifo(dir.Path("pipe.png").c_str(), 0600), 0);
  InferOptions options = Options(server.address(), dir);
  options.input_dir = "";
  options.image = dir.Path("pipe.png");
  RunOutput run =
      RunWithin(absl::Seconds(20), options, dir, [&] { OpenForWriting(dir.Path("pipe.png")); });
  EXPECT_EQ(run.exit_code, kExitFailed);
  EXPECT_THAT(run.err, HasSubstr("every image failed"));
  EXPECT_THAT(run.out, HasSubstr("pipe.png is a FIFO, not a regular file"));

  dir.Write("in/a.png", "xx");
  dir.Write("ann/x.json", "{}");
  ASSERT_EQ(::mkfifo(dir.Path("ann/a.json").c_str(), 0600), 0);
  options = Options(server.address(), dir);
  options.annotations_dir = dir.Path("ann");
  run = RunWithin(absl::Seconds(20), options, dir, [&] { OpenForWriting(dir.Path("ann/a.json")); });
  EXPECT_EQ(run.exit_code, kExitFailed);
  const std::vector<json> lines = ReadLines(dir.Path("out/results.jsonl"));
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["error"]["message"],
            "not sent: " + dir.Path("ann/a.json") + " is a FIFO, not a regular file");
  EXPECT_EQ(server.service().requests_seen(), 0);
}

TEST(RunInferTest, LinkToAFileOutsideTheInputIsNotSent) {
  FakeServer server;
  TempDir dir;
  dir.Write("in/a.png", "xx");
  dir.Write("private/passwd", "root:x:0:0:secret");
  std::filesystem::create_symlink(dir.Path("private/passwd"), dir.Path("in/leak.png"));
  const RunOutput run = RunCommand(Options(server.address(), dir), dir);
  EXPECT_EQ(run.exit_code, kExitOk) << run.err;
  EXPECT_EQ(server.service().requests_seen(), 1);
  const std::string results = ReadAll(dir.Path("out/results.jsonl"));
  EXPECT_THAT(results, ::testing::Not(HasSubstr("root:x")));
  const std::vector<json> lines = ReadLines(dir.Path("out/results.jsonl"));
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[1]["file"], "leak.png");
  EXPECT_EQ(lines[1]["error"]["status"], "FAILED_PRECONDITION");
  EXPECT_THAT(lines[1]["error"]["message"].get<std::string>(),
              HasSubstr("leak.png is a symbolic link to "));
  EXPECT_THAT(lines[1]["error"]["message"].get<std::string>(),
              HasSubstr(", outside --input-dir (links that leave it are not followed)"));
}

TEST(RunInferTest, OutEqualToInputIsAUsageErrorNamingBothFlags) {
  TempDir dir;
  dir.Write("in/a.png", "xx");
  InferOptions options = Options("127.0.0.1:1", dir);
  options.out_dir = dir.Path("in/sub/../");
  const RunOutput run = RunCommand(options, dir);
  EXPECT_EQ(run.exit_code, kExitUsage);
  EXPECT_THAT(run.err, HasSubstr("explainer infer: --out: " + dir.Path("in/sub/../") +
                                 " is the same folder as --input-dir " + dir.Path("in")));
  EXPECT_FALSE(std::filesystem::exists(dir.Path("in/results.jsonl")));
}

TEST(RunInferTest, OversizeRequestsAreLocalErrorsAndTheStreamGoesOn) {
  FakeServer server;
  TempDir dir;
  dir.Write("in/a.png", "xx");
  dir.Write("in/big.png", std::string(1500, 'x'));      // the file alone is too big
  dir.Write("in/c.png", std::string(990, 'x'));         // with its annotation it is
  dir.Write("in/d.png", "xxxx");
  dir.Write("ann/c.json", std::string(100, ' '));
  InferOptions options = Options(server.address(), dir);
  options.annotations_dir = dir.Path("ann");
  options.connection.max_message_bytes = 1000;
  options.window = 1;
  const RunOutput run = RunCommand(options, dir);
  EXPECT_EQ(run.exit_code, kExitOk) << run.err;
  EXPECT_EQ(server.service().requests_seen(), 2);
  const std::vector<json> lines = ReadLines(dir.Path("out/results.jsonl"));
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[1]["error"]["status"], "RESOURCE_EXHAUSTED");
  EXPECT_EQ(lines[1]["error"]["message"],
            dir.Path("in/big.png") +
                " is 1500 bytes, over the 1000-byte message limit (raise the client's "
                "--max-message-mb and the server's --max_message_mb)");
  EXPECT_EQ(lines[2]["error"]["status"], "RESOURCE_EXHAUSTED");
  EXPECT_THAT(lines[2]["error"]["message"].get<std::string>(),
              ::testing::MatchesRegex("not sent: request 'c.png' is 1[0-9]{3} bytes, over the "
                                      "1000-byte message limit \\(raise the client's "
                                      "--max-message-mb.*"));
  EXPECT_TRUE(lines[3]["error"].is_null()) << lines[3].dump();  // the stream went on
  EXPECT_THAT(run.out, HasSubstr("errors:     2 (0 from the server, 2 found by the client)"));
}

TEST(RunInferTest, PredictionIsKeptWhenTheOverlayCannotBeWritten) {
  FakeServer server;
  TempDir dir;
  dir.Write("in/a.png", "xx");
  dir.Write("in/b.png", "xxx");
  // A folder where the overlay file should go.
  std::filesystem::create_directories(dir.Path("out/a_overlay.png"));
  const RunOutput run = RunCommand(Options(server.address(), dir), dir);
  EXPECT_EQ(run.exit_code, kExitOk) << run.err;
  const std::vector<json> lines = ReadLines(dir.Path("out/results.jsonl"));
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0]["predicted_class"], "Malignant");
  EXPECT_TRUE(lines[0]["error"].is_null());
  EXPECT_TRUE(lines[0]["outputs"]["overlay"].is_null());
  EXPECT_THAT(lines[0]["output_error"].get<std::string>(),
              HasSubstr("cannot write " + dir.Path("out/a_overlay.png") + ": Is a directory"));
  EXPECT_TRUE(lines[1]["output_error"].is_null());
  EXPECT_THAT(run.out, HasSubstr("succeeded:  2\n"));
  EXPECT_THAT(run.out, HasSubstr("not written: 1 result(s) whose output files could not be "
                                 "written (predictions kept in results.jsonl)\n  a.png: cannot "
                                 "write "));
}

}  // namespace
}  // namespace explainer::client
