// End-to-end helpers: child processes, the server under test, health, images.
#include "tests/e2e/e2e_support.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "google/protobuf/unknown_field_set.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/support/byte_buffer.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "opencv2/imgproc.hpp"
#include "tests/test_paths.h"

namespace explainer::testing {
namespace {

// Forks and execs argv with stdout / stderr redirected to files. Everything the
// child does between fork and exec is async-signal-safe (the test process has
// gRPC threads).
absl::StatusOr<pid_t> Spawn(const std::vector<std::string>& argv, const std::string& out_path,
                            const std::string& err_path) {
  std::vector<char*> args;
  for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  const pid_t pid = fork();
  if (pid < 0) return absl::InternalError(absl::StrCat("fork failed for ", argv[0]));
  if (pid == 0) {
    const int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int null = open("/dev/null", O_RDONLY);
    if (out < 0 || err < 0 || null < 0) _exit(126);
    dup2(null, 0);
    dup2(out, 1);
    dup2(err, 2);
    execv(args[0], args.data());
    _exit(127);
  }
  return pid;
}

// waitpid with a timeout; nullopt-like -2 while it still runs at the deadline.
int WaitFor(pid_t pid, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    int status = 0;
    const pid_t done = waitpid(pid, &status, WNOHANG);
    if (done == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    if (done < 0) return -1;
    if (absl::Now() > deadline) return -2;
    absl::SleepFor(absl::Milliseconds(20));
  }
}

std::string TempPath(const std::string& stem) {
  static std::atomic<int> counter{0};
  return (std::filesystem::path(::testing::TempDir()) /
          absl::StrCat("explainer_e2e_", getpid(), "_", counter++, "_", stem))
      .string();
}

}  // namespace

std::string ServerBinary() {
#ifdef EXPLAINER_SERVER_BIN
  if (std::getenv("TEST_SRCDIR") == nullptr) return EXPLAINER_SERVER_BIN;
#endif
  return SourcePath("service/server/explainer-server");
}

std::string ClientBinary() {
#ifdef EXPLAINER_CLIENT_BIN
  if (std::getenv("TEST_SRCDIR") == nullptr) return EXPLAINER_CLIENT_BIN;
#endif
  return SourcePath("client/explainer");
}

std::string PhantomBinary() {
#ifdef EXPLAINER_PHANTOM_BIN
  if (std::getenv("TEST_SRCDIR") == nullptr) return EXPLAINER_PHANTOM_BIN;
#endif
  return SourcePath("tools/phantom/explainer-phantom");
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void WriteFile(const std::string& path, const std::string& bytes) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream(path, std::ios::binary) << bytes;
}

CommandResult RunCommand(const std::vector<std::string>& argv, absl::Duration timeout) {
  CommandResult result;
  const std::string out_path = TempPath("stdout");
  const std::string err_path = TempPath("stderr");
  absl::StatusOr<pid_t> pid = Spawn(argv, out_path, err_path);
  if (!pid.ok()) {
    result.err = std::string(pid.status().message());
    return result;
  }
  result.exit_code = WaitFor(*pid, timeout);
  if (result.exit_code == -2) {
    kill(*pid, SIGKILL);
    WaitFor(*pid, absl::Seconds(10));
    result.exit_code = -1;
  }
  result.out = ReadFile(out_path);
  result.err = ReadFile(err_path);
  std::filesystem::remove(out_path);
  std::filesystem::remove(err_path);
  if (result.exit_code == 127) result.err += "\n(could not execute " + argv[0] + ")";
  return result;
}

absl::StatusOr<std::unique_ptr<ChildProcess>> ChildProcess::Start(
    const std::vector<std::string>& argv, const std::string& stdout_path,
    const std::string& stderr_path) {
  absl::StatusOr<pid_t> pid = Spawn(argv, stdout_path, stderr_path);
  if (!pid.ok()) return pid.status();
  return std::unique_ptr<ChildProcess>(new ChildProcess(*pid));
}

bool ChildProcess::Running() {
  if (exited_) return false;
  int status = 0;
  if (waitpid(pid_, &status, WNOHANG) == pid_) {
    exited_ = true;
    exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return false;
  }
  return true;
}

int ChildProcess::Stop() {
  if (!Running()) return exit_code_;
  kill(pid_, SIGTERM);
  int code = WaitFor(pid_, absl::Seconds(10));
  if (code == -2) {
    kill(pid_, SIGKILL);
    code = WaitFor(pid_, absl::Seconds(10));
  }
  exited_ = true;
  exit_code_ = code;
  return code;
}

void ChildProcess::Kill() {
  if (!Running()) return;
  kill(pid_, SIGKILL);
  WaitFor(pid_, absl::Seconds(10));
  exited_ = true;
  exit_code_ = -1;
}

void ChildProcess::Signal(int signal) {
  if (Running()) kill(pid_, signal);
}

int ChildProcess::Wait(absl::Duration timeout) {
  if (!Running()) return exit_code_;
  const int code = WaitFor(pid_, timeout);
  if (code != -2) {
    exited_ = true;
    exit_code_ = code;
  }
  return code;
}

ChildProcess::~ChildProcess() { Stop(); }

absl::StatusOr<std::unique_ptr<ServerUnderTest>> ServerUnderTest::Start(
    const std::string& model, const std::string& log_dir,
    const std::vector<std::string>& extra_flags, absl::Duration timeout) {
  auto server = std::unique_ptr<ServerUnderTest>(new ServerUnderTest());
  std::filesystem::create_directories(log_dir);
  const std::string out_path = (std::filesystem::path(log_dir) / "server.out").string();
  server->stderr_path_ = (std::filesystem::path(log_dir) / "server.err").string();
  std::vector<std::string> argv = {ServerBinary(), "--address=127.0.0.1:0", "--model=" + model};
  argv.insert(argv.end(), extra_flags.begin(), extra_flags.end());
  absl::StatusOr<std::unique_ptr<ChildProcess>> process =
      ChildProcess::Start(argv, out_path, server->stderr_path_);
  if (!process.ok()) return process.status();
  server->process_ = *std::move(process);

  // The one start-up line the server prints on stdout once it listens.
  static const std::regex kStartup(
      R"re(explainer-server: serving model "(.*)" version (\S+) \(classes: (.*)\) on (\S+) )re"
      R"re(at (\S+):(\d+))re");
  const absl::Time deadline = absl::Now() + timeout;
  while (server->address_.empty()) {
    for (absl::string_view line : absl::StrSplit(ReadFile(out_path), '\n')) {
      std::cmatch match;
      const std::string text(line);
      if (std::regex_match(text.c_str(), match, kStartup)) {
        server->startup_line_ = text;
        server->address_ = absl::StrCat(match[5].str(), ":", match[6].str());
      }
    }
    if (!server->address_.empty()) break;
    if (!server->process_->Running()) {
      return absl::InternalError(
          absl::StrCat("explainer-server exited before serving; stderr:\n", server->Log()));
    }
    if (absl::Now() > deadline) {
      return absl::DeadlineExceededError(absl::StrCat(
          "no start-up line from explainer-server within ", absl::FormatDuration(timeout),
          "; stdout:\n", ReadFile(out_path), "\nstderr:\n", server->Log()));
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
  while (true) {
    absl::StatusOr<int> health = HealthStatus(server->Channel());
    if (health.ok() && *health == 1) break;
    if (absl::Now() > deadline) {
      return absl::DeadlineExceededError(absl::StrCat(
          "explainer-server at ", server->address_, " is not SERVING: ",
          health.ok() ? absl::StrCat("status ", *health) : health.status().ToString()));
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
  return server;
}

std::shared_ptr<grpc::Channel> ServerUnderTest::Channel() const {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 * 1024 * 1024);
  return grpc::CreateCustomChannel(address_, grpc::InsecureChannelCredentials(), args);
}

std::string ServerUnderTest::Log() const { return ReadFile(stderr_path_); }

absl::StatusOr<int> HealthStatus(const std::shared_ptr<grpc::Channel>& channel) {
  grpc::GenericStub stub(channel);
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
  // HealthCheckRequest { string service = 1; } with "" is the empty message.
  grpc::Slice empty("");
  grpc::ByteBuffer request(&empty, 1);
  grpc::ByteBuffer response;
  grpc::Status status;
  absl::Notification done;
  stub.UnaryCall(&context, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &request, &response,
                 [&](grpc::Status s) {
                   status = std::move(s);
                   done.Notify();
                 });
  done.WaitForNotification();
  if (!status.ok()) {
    return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
  }
  std::vector<grpc::Slice> slices;
  if (!response.Dump(&slices).ok()) return absl::InternalError("unreadable health answer");
  std::string bytes;
  for (const grpc::Slice& slice : slices) {
    bytes.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
  }
  // HealthCheckResponse { ServingStatus status = 1; }; absent means 0 (UNKNOWN).
  google::protobuf::UnknownFieldSet fields;
  if (!fields.ParseFromString(bytes)) return absl::InternalError("unparseable health answer");
  for (int i = 0; i < fields.field_count(); ++i) {
    if (fields.field(i).number() == 1) return static_cast<int>(fields.field(i).varint());
  }
  return 0;
}

int UnusedPort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

cv::Mat Radiograph(int width, int height, cv::Rect lesion, bool color, int seed) {
  cv::Mat image(height, width, CV_8UC1, cv::Scalar(28));
  // A long bone down the middle: cortex bright, medulla a little darker.
  const int x0 = width * 35 / 100, x1 = width * 65 / 100;
  cv::rectangle(image, cv::Point(x0, 0), cv::Point(x1, height), cv::Scalar(185), cv::FILLED);
  cv::rectangle(image, cv::Point(x0 + (x1 - x0) / 5, 0), cv::Point(x1 - (x1 - x0) / 5, height),
                cv::Scalar(135), cv::FILLED);
  // The lesion: a lucent cyst with a sclerotic rim.
  const cv::Point center(lesion.x + lesion.width / 2, lesion.y + lesion.height / 2);
  const cv::Size axes(lesion.width / 2, lesion.height / 2);
  cv::ellipse(image, center, axes, 0, 0, 360, cv::Scalar(70), cv::FILLED);
  cv::ellipse(image, center, axes, 0, 0, 360, cv::Scalar(225), 3);
  cv::GaussianBlur(image, image, cv::Size(5, 5), 1.5);
  // Film grain, signed so that it darkens as well as brightens.
  cv::Mat noise(height, width, CV_16S);
  cv::RNG rng(seed);
  rng.fill(noise, cv::RNG::NORMAL, 0, 6);
  cv::Mat grainy;
  image.convertTo(grainy, CV_16S);
  grainy += noise;
  grainy.convertTo(image, CV_8U);  // saturates to [0, 255]
  if (!color) return image;
  cv::Mat bgr;
  cv::cvtColor(image, bgr, cv::COLOR_GRAY2BGR);
  return bgr;
}

std::string LabelMeFor(const cv::Rect& lesion, int width, int height, const std::string& image_name,
                       const std::string& extra_shape_type) {
  using json = nlohmann::ordered_json;
  auto shape = [](const std::string& type, json points) {
    return json{{"label", "tumor"},  {"points", std::move(points)}, {"group_id", nullptr},
                {"description", ""}, {"shape_type", type},          {"flags", json::object()}};
  };
  json polygon = json::array();
  const double cx = lesion.x + lesion.width / 2.0, cy = lesion.y + lesion.height / 2.0;
  for (int i = 0; i < 12; ++i) {
    const double a = 2 * M_PI * i / 12;
    polygon.push_back(
        {cx + lesion.width / 2.0 * std::cos(a), cy + lesion.height / 2.0 * std::sin(a)});
  }
  json shapes = json::array();
  shapes.push_back(
      shape("rectangle",
            json::array({json::array({lesion.x, lesion.y}),
                         json::array({lesion.x + lesion.width, lesion.y + lesion.height})})));
  shapes.push_back(shape("polygon", polygon));
  if (!extra_shape_type.empty()) {
    shapes.push_back(
        shape(extra_shape_type, json::array({json::array({1, 1}), json::array({5, 5})})));
  }
  return json{{"version", "5.2.1"},      {"flags", json::object()}, {"shapes", shapes},
              {"imagePath", image_name}, {"imageData", nullptr},    {"imageHeight", height},
              {"imageWidth", width}}
      .dump(2);
}

}  // namespace explainer::testing
