// End-to-end test helpers: run the real binaries as child processes, start the real
// server on a free loopback port, probe its health, make radiograph-like images.
#ifndef EXPLAINER_TESTS_E2E_E2E_SUPPORT_H_
#define EXPLAINER_TESTS_E2E_E2E_SUPPORT_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/channel.h"
#include "opencv2/core.hpp"

namespace explainer::testing {

// Paths of the binaries under test: compiled in by CMake, runfiles under Bazel.
std::string ServerBinary();
std::string ClientBinary();
std::string PhantomBinary();

struct CommandResult {
  int exit_code = -1;  // -1: killed at the timeout or by a signal
  std::string out;
  std::string err;
};

// Runs argv[0] with arguments, waits (at most `timeout`) and returns its output.
CommandResult RunCommand(const std::vector<std::string>& argv,
                         absl::Duration timeout = absl::Minutes(2));

// A child process started in the background (its stdout and stderr go to files).
class ChildProcess {
 public:
  static absl::StatusOr<std::unique_ptr<ChildProcess>> Start(const std::vector<std::string>& argv,
                                                             const std::string& stdout_path,
                                                             const std::string& stderr_path);
  ~ChildProcess();  // SIGTERM, then SIGKILL after 10 s

  bool Running();
  // Sends SIGTERM and waits; returns the exit status (-1 if killed by a signal).
  int Stop();
  // SIGKILL, as a crash or a pulled cable would end it.
  void Kill();
  // Sends `signal` without waiting.
  void Signal(int signal);
  // Waits up to `timeout` for the exit: its status, -1 if killed by a signal, -2 if
  // still running.
  int Wait(absl::Duration timeout);

 private:
  explicit ChildProcess(pid_t pid) : pid_(pid) {}
  pid_t pid_;
  int exit_code_ = -1;
  bool exited_ = false;
};

// The real explainer-server on 127.0.0.1:<free port>.
class ServerUnderTest {
 public:
  // Starts `ServerBinary() --address=127.0.0.1:0 --model=<model> extra_flags...`,
  // waits (up to `timeout`) for its start-up line, parses the port from it and
  // waits for health SERVING. The error carries the server's stderr.
  static absl::StatusOr<std::unique_ptr<ServerUnderTest>> Start(
      const std::string& model, const std::string& log_dir,
      const std::vector<std::string>& extra_flags = {}, absl::Duration timeout = absl::Minutes(3));

  const std::string& address() const { return address_; }
  const std::string& startup_line() const { return startup_line_; }
  bool Running() { return process_->Running(); }
  void Kill() { process_->Kill(); }
  void Signal(int signal) { process_->Signal(signal); }
  int Wait(absl::Duration timeout) { return process_->Wait(timeout); }
  std::shared_ptr<grpc::Channel> Channel() const;
  std::string Log() const;  // the server's stderr so far

 private:
  std::unique_ptr<ChildProcess> process_;
  std::string address_;
  std::string startup_line_;
  std::string stderr_path_;
};

// grpc.health.v1.Health/Check for the whole server (""): 1 SERVING, 2 NOT_SERVING.
absl::StatusOr<int> HealthStatus(const std::shared_ptr<grpc::Channel>& channel);

// A free loopback port with nobody listening (bound, read and closed).
int UnusedPort();

// An 8-bit radiograph-like image (dark background, a bright long bone with a
// cortex, a lucent lesion at `lesion`): gray (CV_8UC1) or BGR (CV_8UC3).
cv::Mat Radiograph(int width, int height, cv::Rect lesion, bool color, int seed);
// LabelMe 5.x JSON for `lesion`: one rectangle and one polygon, like BTXRD.
std::string LabelMeFor(const cv::Rect& lesion, int width, int height, const std::string& image_name,
                       const std::string& extra_shape_type = "");

std::string ReadFile(const std::string& path);
void WriteFile(const std::string& path, const std::string& bytes);

}  // namespace explainer::testing

#endif  // EXPLAINER_TESTS_E2E_E2E_SUPPORT_H_
